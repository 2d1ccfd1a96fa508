package closefake

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// dimension is a configuration collection served by a plain list endpoint
// (and /{id}/). One row here registers the kind, generates its objects and
// routes its path: the cheap way to add an endpoint.
type dimension struct {
	kind, path, prefix string
	model              string // 404 model name; default from kind
	event              string // event log object_type; default kind
	maxLimit           int    // 0: no paging params (everything in one response)
	// count is how many to generate; nil when generate.go makes them.
	count func(scale int) int
	make  func(g *gen, i int, created time.Time) object
	// filter applies the endpoint's query parameters (unknown ones are
	// ignored, as Close does).
	filter func(o object, q url.Values) bool
	// naive dates: newer Close services send timestamps without an offset.
	naive bool
}

func fixed(n int) func(int) int { return func(int) int { return n } }

// bulkKinds are the /bulk_action/<path>/ endpoints and their id prefixes.
var bulkKinds = []struct{ path, prefix string }{
	{"email", "bulkemail"}, {"edit", "bulkedit"}, {"delete", "bulkdelete"}, {"sequence_subscription", "bulkseqsub"},
}

// me is the API key's user.
func (g *gen) me() string { return g.s.me }

// dimensions are the configuration objects of an organisation.
var dimensions = []dimension{
	// Pipelines and custom activity types are made with the statuses and
	// custom fields that point at them (generate.go).
	{kind: "pipeline", path: "/pipeline/", prefix: "pipe", naive: true},
	{kind: "role", path: "/role/", maxLimit: 100, count: fixed(4), make: func(g *gen, i int, _ time.Time) object {
		id := []string{"admin", "superuser", "user", "restricteduser"}[i]
		perms := [][]any{{"lead.read", "lead.write", "org.admin"}, {"lead.read", "lead.write", "lead.export"}, {"lead.read", "lead.write"}, {"lead.read"}}[i]
		return object{"id": id, "name": strings.ToUpper(id[:1]) + id[1:], "permissions": perms, "editable": false, "visibility_user_lcf_ids": emptyList,
			"date_created": "0001-01-01T00:00:00", "date_updated": "0001-01-01T00:00:00"}
	}},
	{kind: "group", path: "/group/", prefix: "group", maxLimit: 100, count: fixed(3), make: func(g *gen, i int, _ time.Time) object {
		return object{"name": []string{"SDRs", "AEs", "Support"}[i], "members": []any{object{"user_id": g.users[i%len(g.users)]}}}
	}},
	{kind: "sequence", path: "/sequence/", prefix: "seq", maxLimit: 1000, count: func(n int) int { return 3 + n/100 }, naive: true,
		make: func(g *gen, i int, _ time.Time) object {
			return object{"name": fmt.Sprintf("Outbound %d", i), "status": []string{"active", "active", "paused"}[i%3], "timezone": "America/New_York",
				"schedule_id": "sched_" + g.s.newID("x")[2:], "allow_manual_sends_outside_schedule": false,
				"steps": []any{
					object{"id": g.s.newID("seqstep"), "step_type": "email", "delay": 0, "email_template_id": nil, "sms_template_id": nil, "threading": "new_thread", "required": false},
					object{"id": g.s.newID("seqstep"), "step_type": "call", "delay": 86400, "email_template_id": nil, "sms_template_id": nil, "threading": nil, "required": true},
				},
				"created_by_id": g.me(), "updated_by_id": g.me()}
		}},
	{kind: "sequence_subscription", path: "/sequence_subscription/", prefix: "sub", maxLimit: 100, count: func(n int) int { return 2 + n/20 },
		make: func(g *gen, i int, _ time.Time) object {
			contacts := g.s.col(KindContact).ids()
			c := g.s.col(KindContact).objs[contacts[g.r.IntN(len(contacts))]]
			seqs := g.s.col("sequence").ids()
			return object{"sequence_id": seqs[i%len(seqs)], "contact_id": c["id"], "lead_id": c["lead_id"], "status": []string{"active", "finished", "paused"}[i%3],
				"sender_account_id": nil, "sender_name": g.s.userName(g.me()), "sender_email": "rep@example.com"}
		},
		filter: eqFilters("contact_id", "lead_id", "sequence_id")},
	{kind: "custom_activity_type", path: "/custom_activity/", prefix: "actitype", maxLimit: 100, naive: true},
	{kind: "custom_object_type", path: "/custom_object_type/", prefix: "cotype", maxLimit: 100, count: fixed(1), naive: true,
		make: func(g *gen, i int, _ time.Time) object {
			return object{"name": "Subscription", "name_plural": "Subscriptions", "description": "", "api_create_only": false,
				"editable_with_roles": emptyList, "fields": emptyList}
		}},
	{kind: "connected_account", path: "/connected_account/", prefix: "emailacct", maxLimit: 100, count: fixed(4),
		make: func(g *gen, i int, _ time.Time) object {
			user := g.me()
			if i == 3 {
				user = g.s.col(KindUser).ids()[1]
			}
			return object{"_type": []string{"google", "custom_email", "zoom", "google"}[i], "email": fmt.Sprintf("rep%d@example.com", i),
				"user_id": user, "identities": emptyList, "default_identity": nil, "available_features": []any{"email"},
				"enabled_features": []any{"email"}, "send_status": "ok", "receive_status": "ok"}
		},
		// Close ignores _type here (Airbyte's recordings show all accounts for each); user_id works.
		filter: eqFilters("user_id")},
	{kind: "phone_number", path: "/phone_number/", prefix: "phon", maxLimit: 100, count: fixed(3), make: func(g *gen, i int, _ time.Time) object {
		n := fmt.Sprintf("+1415555%04d", i)
		return object{"number": n, "number_formatted": fmt.Sprintf("+1 415-555-%04d", i), "label": "Main", "is_group_number": i == 0,
			"user_id": g.me(), "country": "US", "supports_sms": true, "forward_to": nil}
	}, filter: eqFilters("number", "user_id", "is_group_number")},
	// Leads and contacts show these templates rendered (store.go).
	{kind: "integration_link", path: "/integration_link/", prefix: "ilink", maxLimit: 100, count: fixed(2), make: func(g *gen, i int, _ time.Time) object {
		return []object{
			{"name": "LinkedIn Search", "url": "https://www.linkedin.com/search/results/people/?keywords={{ contact.display_name }}", "type": "contact"},
			{"name": "Google Search", "url": "https://www.google.com/search?q={{ lead.display_name }}", "type": "lead"},
		}[i]
	}},
	{kind: "sms_template", path: "/sms_template/", prefix: "smstmpl", maxLimit: 100, count: fixed(2), make: func(g *gen, i int, _ time.Time) object {
		return object{"name": fmt.Sprintf("SMS %d", i), "text": "Hi {{ contact.first_name }}", "is_shared": true, "is_archived": false}
	}},
	{kind: "email_template", path: "/email_template/", prefix: "tmpl", maxLimit: 100, count: func(n int) int { return 4 + n/100 },
		make: func(g *gen, i int, _ time.Time) object {
			return object{"name": fmt.Sprintf("Template %d", i), "subject": "Hello {{ contact.first_name }}", "body": "<p>Hi</p>",
				"attachments": emptyList, "is_shared": i%2 == 0, "is_archived": i%5 == 4, "unsubscribe_link_text": nil}
		}, filter: eqFilters("is_archived", "is_shared")},
	{kind: "smart_view", path: "/saved_search/", prefix: "save", model: "SavedSearch", event: "saved_search", maxLimit: 600, count: fixed(4),
		make: func(g *gen, i int, _ time.Time) object {
			typ := []string{"lead", "lead", "contact", "contact"}[i]
			q := object{"type": "and", "queries": []any{object{"type": "object_type", "object_type": typ}}}
			return object{"name": fmt.Sprintf("View %d", i), "type": typ, "query": "", "s_query": object{"query": q, "results_limit": nil, "sort": emptyList},
				"is_shared": true, "is_user_dependent": false, "user_id": g.me()}
		},
		// Close returns only lead smart views unless type or type__in says otherwise.
		filter: func(o object, q url.Values) bool {
			types := []string{"lead"}
			if v := q.Get("type"); v != "" {
				types = []string{v}
			}
			if v := q.Get("type__in"); v != "" {
				types = strings.Split(v, ",")
			}
			return contains(types, fmt.Sprint(o["type"]))
		}},
	{kind: "send_as", path: "/send_as/", prefix: "sendas", maxLimit: 100, count: fixed(2), make: func(g *gen, i int, _ time.Time) object {
		return object{"allowing_user_id": g.me(), "allowed_user_id": g.users[(i+1)%len(g.users)]}
	}, filter: eqFilters("allowed_user_id", "allowing_user_id")},
	{kind: "outcome", path: "/outcome/", prefix: "outcome", maxLimit: 100, count: fixed(3), make: func(g *gen, i int, _ time.Time) object {
		return object{"name": []string{"Interested", "Not interested", "Call back"}[i], "type": "call", "applies_to": []any{"calls"}}
	}},
	{kind: "dialer", path: "/dialer/", prefix: "dial", maxLimit: 100, count: fixed(2), naive: true, make: func(g *gen, i int, _ time.Time) object {
		views := g.s.col("smart_view").ids()
		return object{"type": "power", "status": "completed", "source_type": "saved-search", "source_value": views[i%len(views)], "users": []any{g.me()}}
	}, filter: eqFilters("source_type", "source_value", "status", "user_id")},
	{kind: "webhook", path: "/webhook/", prefix: "whsub", maxLimit: 100, count: fixed(2), make: func(g *gen, i int, _ time.Time) object {
		return object{"url": fmt.Sprintf("https://hooks.example.com/%d", i), "events": []any{object{"object_type": "lead", "action": "created"}},
			"status": "active", "verify_ssl": true}
	}},
	{kind: "export", path: "/export/", prefix: "expo", maxLimit: 100, count: fixed(2), make: func(g *gen, i int, _ time.Time) object {
		return object{"type": "leads", "format": "json", "status": "done", "download_url": "https://example.com/export.json.gz",
			"n_leads": g.s.opts.Scale, "send_done_email": false}
	}},
}

// eqFilters accepts field=value and field__in=a,b for the named fields.
func eqFilters(fields ...string) func(o object, q url.Values) bool {
	return func(o object, q url.Values) bool { return matchExact(o, q, fields) }
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func init() {
	for _, d := range dimensions {
		model := d.model
		if model == "" {
			model = camel(d.kind)
		}
		event := d.event
		if event == "" {
			event = d.kind
		}
		registerKind(&kindSpec{kind: d.kind, prefix: d.prefix, model: model, naive: d.naive,
			eventType: func(object) string { return event }})
	}
	registerKind(&kindSpec{kind: "bulk_action", model: "BulkAction", hidden: []string{"bulk_kind"},
		modelOf:   func(o object) string { return "Bulk" + camel(fmt.Sprint(o["bulk_kind"])) },
		eventType: func(o object) string { return "bulk_action." + fmt.Sprint(o["bulk_kind"]) }})
}

// camel turns sms_template into SmsTemplate.
func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// generateDimensions fills the dimension collections and the four kinds of
// bulk actions (kind "bulk_action", with bulk_kind in the truth copy).
func (s *Server) generateDimensions(g *gen) {
	for _, d := range dimensions {
		if d.count == nil {
			continue
		}
		for i := range d.count(s.opts.Scale) {
			created := g.between(g.start, g.now)
			o := d.make(g, i, created)
			if _, ok := o["id"]; !ok {
				o["id"] = s.newID(d.prefix)
			}
			o["organization_id"] = s.orgID
			if _, ok := o["date_created"]; !ok {
				updated := g.updatedAfter(created)
				if d.naive {
					o["date_created"], o["date_updated"] = naiveTime(created), naiveTime(updated)
				} else {
					o["date_created"], o["date_updated"] = fmtTime(created), fmtTime(updated)
				}
				o["created_by"], o["updated_by"] = g.me(), g.me()
			}
			s.put(d.kind, o)
		}
	}
	views := s.col("smart_view").ids()
	for _, b := range bulkKinds {
		for i := range 2 {
			created := g.between(g.start, g.now)
			o := object{"id": s.newID(b.prefix), "bulk_kind": b.path, "status": "done",
				"query": "", "s_query": object{"saved_search_id": views[i%len(views)]}, "sort": emptyList, "results_limit": nil,
				"n_objects": 10 + i, "n_objects_processed": 10 + i, "n_leads": 10 + i, "n_leads_processed": 10 + i,
				"send_done_email": false, "organization_id": s.orgID, "created_by": g.me(), "updated_by": g.me(),
				"date_created": fmtTime(created), "date_updated": fmtTime(g.soon(created, time.Minute))}
			switch b.path {
			case "email":
				tmpl := s.col("email_template").ids()
				o["template_id"], o["contact_preference"], o["email_account_id"], o["sender"] = tmpl[0], "lead", nil, "rep@example.com"
			case "edit":
				o["type"], o["lead_status_id"] = "set_lead_status", s.col(KindLeadStatus).ids()[0]
				o["custom_field_name"], o["custom_field_value"] = nil, nil
			case "delete":
				o["bulk_object_type"] = "lead"
			case "sequence_subscription":
				o["sequence_id"], o["action_type"] = s.col("sequence").ids()[0], "subscribe"
				o["sender_account_id"], o["sender_name"], o["sender_email"] = nil, s.userName(g.me()), "rep@example.com"
			}
			s.put("bulk_action", o)
		}
	}
}
