package closefake

import (
	"fmt"
	"net/url"
	"time"
)

// dimension is a small collection served by a plain list endpoint.
type dimension struct {
	kind, path, prefix string
	maxLimit           int // 0: no paging params (everything in one response)
	count              func(scale int) int
	make               func(s *Server, i int, created time.Time) map[string]any
	filter             func(o map[string]any, q url.Values) bool
	// naive dates: newer Close services send timestamps without an offset.
	naive bool
}

func fixed(n int) func(int) int { return func(int) int { return n } }

// naiveTime renders the offset-less timestamps of Close's newer services.
func naiveTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

var bulkKinds = []struct{ path, prefix string }{
	{"email", "bulkemail"}, {"edit", "bulkedit"}, {"delete", "bulkdelete"}, {"sequence_subscription", "bulkseqsub"},
}

// dimensions are the configuration objects of an organisation.
var dimensions = []dimension{
	{kind: "pipeline", path: "/pipeline/", prefix: "pipe", count: fixed(2), naive: true, make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"name": []string{"Sales", "Renewals"}[i], "statuses": []any{map[string]any{"id": "stat_p" + fmt.Sprint(i), "label": "Open", "type": "active"}}}
	}},
	{kind: "role", path: "/role/", prefix: "", maxLimit: 100, count: fixed(4), make: func(s *Server, i int, _ time.Time) map[string]any {
		id := []string{"admin", "superuser", "user", "restricteduser"}[i]
		return map[string]any{"id": id, "name": id, "permissions": []any{"lead.read"}, "editable": false, "visibility_user_lcf_ids": []any{},
			"date_created": "0001-01-01T00:00:00", "date_updated": "0001-01-01T00:00:00"}
	}},
	{kind: "group", path: "/group/", prefix: "group", maxLimit: 100, count: fixed(3), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"name": []string{"SDRs", "AEs", "Support"}[i], "members": []any{map[string]any{"user_id": s.anyUser()}}}
	}},
	{kind: "sequence", path: "/sequence/", prefix: "seq", maxLimit: 1000, count: func(n int) int { return 3 + n/100 }, naive: true,
		make: func(s *Server, i int, _ time.Time) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Outbound %d", i), "status": "active", "timezone": "America/New_York",
				"schedule_id": "sched_1", "steps": []any{map[string]any{"id": "seqstep_" + fmt.Sprint(i), "step_type": "email", "delay": 86400}},
				"created_by_id": s.anyUser(), "updated_by_id": s.anyUser()}
		}},
	{kind: "sequence_subscription", path: "/sequence_subscription/", prefix: "sub", maxLimit: 100, count: func(n int) int { return 2 + n/20 },
		make: func(s *Server, i int, _ time.Time) map[string]any {
			return map[string]any{"sequence_id": "seq_x", "contact_id": "cont_x", "lead_id": "lead_x", "status": "active", "sender_account_id": "emailacct_1"}
		}},
	{kind: "custom_activity_type", path: "/custom_activity/", prefix: "actitype", maxLimit: 100, count: fixed(2), naive: true,
		make: func(s *Server, i int, _ time.Time) map[string]any {
			return map[string]any{"name": []string{"Demo Feedback", "Site Visit"}[i], "description": "", "api_create_only": false,
				"editable_with_roles": []any{}, "fields": []any{}}
		}},
	{kind: "custom_object_type", path: "/custom_object_type/", prefix: "cotype", maxLimit: 100, count: fixed(1), naive: true,
		make: func(s *Server, i int, _ time.Time) map[string]any {
			return map[string]any{"name": "Subscription", "name_plural": "Subscriptions", "description": "", "fields": []any{}}
		}},
	{kind: "connected_account", path: "/connected_account/", prefix: "emailacct", maxLimit: 100, count: fixed(4),
		make: func(s *Server, i int, _ time.Time) map[string]any {
			user := s.anyUser()
			if i == 3 {
				user = s.sortedIDs(KindUser)[1]
			}
			return map[string]any{"_type": []string{"google", "custom_email", "zoom", "google"}[i], "email": fmt.Sprintf("rep%d@example.com", i),
				"user_id": user, "identities": []any{}, "available_features": []any{"email"}, "send_status": "ok", "receive_status": "ok"}
		},
		filter: func(o map[string]any, q url.Values) bool {
			return q.Get("user_id") == "" || q.Get("user_id") == o["user_id"]
		}},
	{kind: "phone_number", path: "/phone_number/", prefix: "phon", maxLimit: 100, count: fixed(3), make: func(s *Server, i int, _ time.Time) map[string]any {
		n := fmt.Sprintf("+1415555%04d", i)
		return map[string]any{"number": n, "number_formatted": n, "label": "Main", "is_group_number": i == 0, "user_id": s.anyUser(),
			"country": "US", "supports_sms": true, "forward_to": nil}
	}},
	{kind: "integration_link", path: "/integration_link/", prefix: "ilink", maxLimit: 100, count: fixed(2), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"name": []string{"LinkedIn Search", "Company Site"}[i], "url": "https://example.com/{{ lead.display_name }}",
			"type": []string{"contact", "lead"}[i]}
	}},
	{kind: "sms_template", path: "/sms_template/", prefix: "smstmpl", maxLimit: 100, count: fixed(2), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"name": fmt.Sprintf("SMS %d", i), "text": "Hi {{ contact.first_name }}", "is_shared": true, "is_archived": false}
	}},
	{kind: "email_template", path: "/email_template/", prefix: "tmpl", maxLimit: 100, count: func(n int) int { return 4 + n/100 },
		make: func(s *Server, i int, _ time.Time) map[string]any {
			return map[string]any{"name": fmt.Sprintf("Template %d", i), "subject": "Hello", "body": "<p>Hi</p>", "attachments": []any{},
				"is_shared": i%2 == 0, "is_archived": false}
		}},
	{kind: "smart_view", path: "/saved_search/", prefix: "save", maxLimit: 600, count: fixed(4),
		make: func(s *Server, i int, _ time.Time) map[string]any {
			typ := []string{"lead", "lead", "contact", "contact"}[i]
			return map[string]any{"name": fmt.Sprintf("View %d", i), "type": typ, "query": "", "s_query": map[string]any{"query": map[string]any{"type": "and", "queries": []any{}}},
				"is_shared": true, "is_user_dependent": false, "user_id": s.anyUser()}
		},
		// Close returns only lead smart views unless type or type__in says otherwise.
		filter: func(o map[string]any, q url.Values) bool {
			types := []string{"lead"}
			if v := q.Get("type"); v != "" {
				types = []string{v}
			}
			if v := q.Get("type__in"); v != "" {
				types = splitComma(v)
			}
			return contains(types, fmt.Sprint(o["type"]))
		}},
	{kind: "send_as", path: "/send_as/", prefix: "sendas", maxLimit: 100, count: fixed(2), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"allowing_user_id": s.anyUser(), "allowed_user_id": s.anyUser()}
	}},
	{kind: "outcome", path: "/outcome/", prefix: "outcome", maxLimit: 100, count: fixed(3), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"name": []string{"Interested", "Not interested", "Call back"}[i], "type": "call", "applies_to": []any{"calls"}}
	}},
	{kind: "dialer", path: "/dialer/", prefix: "dial", maxLimit: 100, count: fixed(2), naive: true, make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"type": "power", "status": "completed", "source_type": "saved-search", "source_value": "save_x", "users": []any{s.anyUser()}}
	}},
	{kind: "webhook", path: "/webhook/", prefix: "whsub", maxLimit: 100, count: fixed(2), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"url": fmt.Sprintf("https://hooks.example.com/%d", i), "events": []any{map[string]any{"object_type": "lead", "action": "created"}},
			"status": "active", "verify_ssl": true}
	}},
	{kind: "export", path: "/export/", prefix: "expo", maxLimit: 100, count: fixed(2), make: func(s *Server, i int, _ time.Time) map[string]any {
		return map[string]any{"type": "leads", "format": "json", "status": "done", "download_url": "https://example.com/export.json.gz", "n_leads": 10}
	}},
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// generateDimensions fills the dimension collections and the four kinds of
// bulk actions (kind "bulk_action", with bulk_kind in the truth copy).
func (s *Server) generateDimensions(start time.Time) {
	for _, d := range dimensions {
		for i := 0; i < d.count(s.opts.Scale); i++ {
			created := start.Add(time.Duration(s.rng.Int64N(int64(s.now().Sub(start)))))
			o := d.make(s, i, created)
			if _, ok := o["id"]; !ok {
				o["id"] = d.prefix + "_" + s.newID(KindLead)[5:]
			}
			o["organization_id"] = s.orgID
			if _, ok := o["date_created"]; !ok {
				if d.naive {
					o["date_created"], o["date_updated"] = naiveTime(created), naiveTime(created.Add(time.Hour))
				} else {
					o["date_created"], o["date_updated"] = fmtTime(created), fmtTime(created.Add(time.Hour))
				}
				o["created_by"], o["updated_by"] = s.anyUser(), s.anyUser()
			}
			s.put(d.kind, o)
		}
	}
	for _, b := range bulkKinds {
		for i := 0; i < 2; i++ {
			created := start.Add(time.Duration(s.rng.Int64N(int64(s.now().Sub(start)))))
			s.put("bulk_action", map[string]any{"id": b.prefix + "_" + s.newID(KindLead)[5:], "bulk_kind": b.path, "status": "done",
				"s_query": map[string]any{}, "n_objects": 10, "n_objects_processed": 10, "n_leads": 10, "n_leads_processed": 10,
				"send_done_email": false, "organization_id": s.orgID, "created_by": s.anyUser(),
				"date_created": fmtTime(created), "date_updated": fmtTime(created.Add(time.Minute))})
		}
	}
}
