package closefake

import (
	"fmt"
	"time"
)

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia", "Edsger", "Hedy"}
	lastNames  = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Turing", "Perlman", "Dijkstra", "Lamarr"}
	companies  = []string{"Bluth", "Initech", "Hooli", "Vandelay", "Wonka", "Acme", "Globex", "Umbrella", "Stark", "Wayne", "Tyrell", "Cyberdyne"}
	suffixes   = []string{"Inc", "LLC", "GmbH", "Ltd", "Co", "Group"}
	cities     = []string{"San Francisco", "Berlin", "Prague", "Austin", "Lisbon", "Toronto"}
	taskTypes  = []string{"lead", "lead", "lead", "email_followup", "missed_call", "voicemail", "incoming_email", "opportunity_due", "incoming_sms"}
	actTypes   = []string{"Call", "Email", "EmailThread", "Note", "Meeting", "SMS", "Created", "LeadStatusChange", "OpportunityStatusChange",
		"TaskCompleted", "WhatsAppMessage", "FormSubmission", "Custom"}
)

type customDef struct {
	id, name, typ string
	choices       []any
	multi         bool
}

// generate builds the organisation: users, statuses, custom fields, leads
// with contacts, opportunities, tasks and activities, and the events of the
// last 30 days.
func (s *Server) generate() {
	now := s.now()
	r := s.rng
	s.orgID = "orga_" + s.newID(KindLead)[5:]
	span := 2 * 365 * 24 * time.Hour
	randTime := func(after time.Time) time.Time {
		d := now.Sub(after)
		if d <= 0 {
			return after
		}
		return after.Add(time.Duration(r.Int64N(int64(d))))
	}
	start := now.Add(-span)

	nUsers := 4 + s.opts.Scale/100
	var users []string
	for i := 0; i < nUsers; i++ {
		f, l := firstNames[i%len(firstNames)], lastNames[(i*7)%len(lastNames)]
		created := randTime(start.Add(-90 * 24 * time.Hour))
		u := map[string]any{"id": s.newID(KindUser), "email": fmt.Sprintf("%s.%s%d@example.com", f, l, i), "first_name": f, "last_name": l,
			"image": "https://example.com/u.png", "organizations": []any{s.orgID}, "last_used_timezone": "America/Los_Angeles",
			"date_created": fmtTime(created), "date_updated": fmtTime(randTime(created)), "email_verified_at": fmtTime(created),
			"google_profile_image_url": nil}
		s.put(KindUser, u)
		users = append(users, u["id"].(string))
	}
	var leadStatuses []map[string]any
	for _, label := range []string{"Potential", "Bad Fit", "Qualified", "Customer"} {
		st := map[string]any{"id": s.newID(KindLeadStatus), "label": label, "organization_id": s.orgID}
		s.put(KindLeadStatus, st)
		leadStatuses = append(leadStatuses, st)
	}
	pipeline := "pipe_" + s.newID(KindLead)[5:]
	var oppStatuses []map[string]any
	for _, st := range [][2]string{{"Demo Scheduled", "active"}, {"Proposal Sent", "active"}, {"Contract Sent", "active"}, {"Won", "won"}, {"Lost", "lost"}} {
		o := map[string]any{"id": s.newID(KindOpportunityStatus), "label": st[0], "type": st[1], "status_type": st[1],
			"pipeline_id": pipeline, "organization_id": s.orgID}
		s.put(KindOpportunityStatus, o)
		oppStatuses = append(oppStatuses, o)
	}
	defs := map[string][]customDef{}
	addField := func(objType, name, typ string, choices []any, multi bool) {
		id := s.newID(KindCustomField)
		created := randTime(start.Add(-30 * 24 * time.Hour))
		f := map[string]any{"id": id, "name": name, "description": "", "type": typ, "choices": choices, "accepts_multiple_values": multi,
			"editable_with_roles": []any{}, "is_shared": objType == "shared", "organization_id": s.orgID, "object_type": objType,
			"created_by": users[0], "updated_by": users[0], "date_created": fmtTime(created), "date_updated": fmtTime(randTime(created))}
		if objType == "activity" {
			f["custom_activity_type_id"] = "actitype_" + id[3:]
		}
		s.put(KindCustomField, f)
		target := objType
		if objType == "shared" {
			target = "lead"
		}
		defs[target] = append(defs[target], customDef{id: id, name: name, typ: typ, choices: choices, multi: multi})
	}
	addField("lead", "Lead Source", "choices", []any{"Website", "Referral", "Event", "Outbound"}, false)
	addField("lead", "Employees", "number", nil, false)
	addField("lead", "Renewal Date", "date", nil, false)
	addField("lead", "Industries", "choices", []any{"SaaS", "Retail", "Finance", "Health"}, true)
	addField("lead", "Account Owner", "user", nil, false)
	addField("contact", "LinkedIn", "text", nil, false)
	addField("contact", "Birthday", "date", nil, false)
	addField("opportunity", "Contract Length", "number", nil, false)
	addField("opportunity", "Competitor", "text", nil, false)
	addField("activity", "Call Outcome", "choices", []any{"Interested", "Not now", "Wrong person"}, false)
	addField("shared", "Region", "choices", []any{"EMEA", "AMER", "APAC"}, false)

	setCustom := func(o map[string]any, target string) {
		for _, d := range defs[target] {
			if r.IntN(3) == 0 { // set only on some objects, as in Close
				continue
			}
			var v any
			switch d.typ {
			case "choices":
				v = d.choices[r.IntN(len(d.choices))]
				if d.multi {
					v = []any{d.choices[0], d.choices[1+r.IntN(len(d.choices)-1)]}
				}
			case "number":
				v = r.IntN(5000)
			case "date":
				v = now.Add(-time.Duration(r.IntN(900)) * 24 * time.Hour).Format("2006-01-02")
			case "user":
				v = users[r.IntN(len(users))]
			default:
				v = fmt.Sprintf("https://www.linkedin.com/in/p%d", r.IntN(1e6))
			}
			o["custom."+d.id] = v
		}
	}
	audit := func(o map[string]any, created, updated time.Time) {
		u := users[r.IntN(len(users))]
		name := fmt.Sprint(s.objs[KindUser][u]["first_name"])
		o["organization_id"] = s.orgID
		o["date_created"], o["date_updated"] = fmtTime(created), fmtTime(updated)
		o["created_by"], o["created_by_name"], o["updated_by"], o["updated_by_name"] = u, name, u, name
	}
	var sharedUpdated time.Time
	for i := 0; i < s.opts.Scale; i++ {
		created := randTime(start)
		updated := randTime(created)
		// Several leads share one date_updated exactly, as bulk edits do.
		if i%17 == 0 {
			if sharedUpdated.IsZero() || sharedUpdated.Before(created) {
				sharedUpdated = updated
			}
			updated = sharedUpdated
		}
		st := leadStatuses[r.IntN(len(leadStatuses))]
		name := fmt.Sprintf("%s %s %d", companies[r.IntN(len(companies))], suffixes[r.IntN(len(suffixes))], i)
		lead := map[string]any{"id": s.newID(KindLead), "name": name, "display_name": name, "description": "", "url": "https://example.com/" + fmt.Sprint(i),
			"status_id": st["id"], "status_label": st["label"], "source": nil, "integration_links": []any{},
			"custom": map[string]any{}}
		lead["html_url"] = "https://app.close.com/lead/" + lead["id"].(string) + "/"
		addrs := []any{}
		for a := 0; a < r.IntN(3); a++ {
			addrs = append(addrs, map[string]any{"label": []string{"business", "mailing", "other"}[a], "address_1": fmt.Sprintf("%d Main St", 1+r.IntN(999)),
				"address_2": "", "city": cities[r.IntN(len(cities))], "state": "", "zipcode": fmt.Sprint(10000 + r.IntN(89999)), "country": "US"})
		}
		lead["addresses"] = addrs
		audit(lead, created, updated)
		setCustom(lead, "lead")
		s.put(KindLead, lead)
		lid := lead["id"].(string)

		var contactIDs []string
		for c := 0; c < 1+r.IntN(3); c++ {
			f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
			cc := randTime(created)
			emails := []any{}
			for e := 0; e < r.IntN(3); e++ {
				emails = append(emails, map[string]any{"type": []string{"office", "home", "other"}[e], "email": fmt.Sprintf("%s.%s%d@%s.example", f, l, e, name[:3]),
					"is_unsubscribed": r.IntN(10) == 0})
			}
			phones := []any{}
			for p := 0; p < r.IntN(3); p++ {
				n := fmt.Sprintf("+1415%07d", r.IntN(1e7))
				phones = append(phones, map[string]any{"type": []string{"office", "mobile", "direct"}[p], "phone": n, "phone_formatted": n, "country": "US"})
			}
			urls := []any{}
			if r.IntN(3) == 0 {
				urls = append(urls, map[string]any{"type": "url", "url": "https://example.com/~" + f})
			}
			ct := map[string]any{"id": s.newID(KindContact), "lead_id": lid, "name": f + " " + l, "display_name": f + " " + l, "title": "VP Sales",
				"emails": emails, "phones": phones, "urls": urls, "integration_links": []any{}, "timezone": "America/Los_Angeles",
				"timezone_source": "inferred_from_phone_number"}
			audit(ct, cc, randTime(cc))
			setCustom(ct, "contact")
			s.put(KindContact, ct)
			contactIDs = append(contactIDs, ct["id"].(string))
		}
		for o := 0; o < r.IntN(3); o++ {
			st := oppStatuses[r.IntN(len(oppStatuses))]
			oc := randTime(created)
			value := 1000 * (1 + r.IntN(500))
			conf := r.IntN(101)
			u := users[r.IntN(len(users))]
			op := map[string]any{"id": s.newID(KindOpportunity), "lead_id": lid, "lead_name": name, "status_id": st["id"], "status_label": st["label"],
				"status_display_name": st["label"], "status_type": st["type"], "pipeline_id": pipeline, "pipeline_name": "Sales",
				"value": value, "value_period": []string{"one_time", "monthly", "annual"}[r.IntN(3)], "value_currency": "USD",
				"value_formatted": fmt.Sprintf("$%d", value/100), "expected_value": value * conf / 100, "annualized_value": value,
				"annualized_expected_value": value * conf / 100, "confidence": conf, "date_won": nil, "date_lost": nil,
				"contact_id": contactIDs[0], "contact_name": "", "user_id": u, "user_name": s.objs[KindUser][u]["first_name"],
				"note": "", "attachments": []any{}, "integration_links": []any{}}
			if st["type"] == "won" {
				op["date_won"] = oc.Add(72 * time.Hour).Format("2006-01-02")
			}
			if st["type"] == "lost" {
				op["date_lost"] = oc.Add(48 * time.Hour).Format("2006-01-02")
			}
			audit(op, oc, randTime(oc))
			setCustom(op, "opportunity")
			s.put(KindOpportunity, op)
		}
		for t := 0; t < r.IntN(3); t++ {
			tc := randTime(created)
			typ := taskTypes[r.IntN(len(taskTypes))]
			u := users[r.IntN(len(users))]
			dateless := r.IntN(4) == 0
			due := any(tc.Add(time.Duration(r.IntN(240)) * time.Hour).Format("2006-01-02"))
			if !dateless {
				due = fmtTime(tc.Add(time.Duration(r.IntN(240)) * time.Hour))
			}
			tk := map[string]any{"id": s.newID(KindTask), "_type": typ, "text": "Follow up with " + name, "lead_id": lid, "lead_name": name,
				"contact_id": contactIDs[0], "contact_name": "", "assigned_to": u, "assigned_to_name": s.objs[KindUser][u]["first_name"],
				"date": due, "due_date": nil, "is_complete": r.IntN(2) == 0, "is_dateless": dateless, "view": "inbox",
				"object_type": nil, "object_id": nil, "priority": "normal"}
			audit(tk, tc, randTime(tc))
			s.put(KindTask, tk)
		}
		var lastThread string
		for a := 0; a < 2+r.IntN(5); a++ {
			typ := actTypes[(i+a*5)%len(actTypes)]
			ac := randTime(created)
			s.put(KindActivity, s.activity(typ, lid, contactIDs[0], users[r.IntN(len(users))], ac, randTime(ac), &lastThread, defs["activity"]))
		}
	}
	s.generateDimensions(start)

	// Events: the creations and last updates of the past 30 days. Their
	// data is left out (Close sends it only for an hour to non-admins), which
	// also keeps generation linear.
	s.quietEvents = true
	defer func() { s.quietEvents = false }()
	cutoff := fmtTime(now.Add(-30 * 24 * time.Hour))
	for _, kind := range []string{KindLead, KindContact, KindOpportunity, KindTask, KindActivity} {
		for _, id := range s.sortedIDs(kind) {
			o := s.objs[kind][id]
			if c := o["date_created"].(string); c >= cutoff {
				s.event(kind, o, "created", nil, nil, mustTime(c))
			}
			if u := o["date_updated"].(string); u >= cutoff && u != o["date_created"] {
				s.event(kind, o, "updated", []any{"date_updated"}, map[string]any{}, mustTime(u))
			}
		}
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// activity builds one activity of type typ with its type-specific fields.
func (s *Server) activity(typ, leadID, contactID, userID string, created, updated time.Time, lastThread *string, defs []customDef) map[string]any {
	r := s.rng
	a := map[string]any{"id": s.newID(KindActivity), "_type": typ, "lead_id": leadID, "contact_id": contactID, "user_id": userID,
		"user_name": s.objs[KindUser][userID]["first_name"], "users": []any{}, "activity_at": fmtTime(created)}
	u := userID
	a["organization_id"] = s.orgID
	a["date_created"], a["date_updated"] = fmtTime(created), fmtTime(updated)
	a["created_by"], a["updated_by"] = u, u
	switch typ {
	case "Call":
		a["direction"] = []string{"outbound", "inbound"}[r.IntN(2)]
		a["status"] = "completed"
		a["disposition"] = []any{"answered", "vm-left", nil}[r.IntN(3)]
		a["duration"] = r.IntN(1800)
		a["phone"], a["local_phone"], a["remote_phone"] = "+14155550100", "+14155550100", "+14155550199"
		a["note"], a["cost"], a["source"], a["has_recording"] = "", fmt.Sprintf("%.3f", r.Float64()), "Close.io", false
		for _, d := range defs {
			if r.IntN(2) == 0 && d.choices != nil {
				a["custom."+d.id] = d.choices[r.IntN(len(d.choices))]
			}
		}
	case "EmailThread":
		a["subject"], a["n_emails"], a["participants"] = "Pricing", 1+r.IntN(4), []any{map[string]any{"email": "a@example.com"}}
		*lastThread = a["id"].(string)
	case "Email":
		a["direction"], a["status"], a["subject"] = []string{"outgoing", "incoming"}[r.IntN(2)], "sent", "Re: Pricing"
		a["sender"], a["to"], a["cc"], a["bcc"] = "rep@example.com", []any{"buyer@example.com"}, []any{}, []any{}
		a["body_text"], a["body_html"], a["date_sent"] = "Hi!", "<p>Hi!</p>", fmtTime(created)
		a["thread_id"] = *lastThread
		a["opens"], a["attachments"], a["template_id"] = []any{}, []any{}, nil
		a["activity_at"] = created.UTC().Format("2006-01-02T15:04:05") + "+00:00" // fractionless, as Close sends for emails
	case "Note":
		a["note"], a["note_html"], a["title"], a["pinned_at"] = "Talked about pricing", "<p>Talked about pricing</p>", "Pricing", nil
	case "Meeting":
		a["title"], a["status"], a["location"] = "Demo", "completed", "Zoom"
		a["starts_at"], a["ends_at"], a["duration"] = fmtTime(created), fmtTime(created.Add(30*time.Minute)), 1800
		a["attendees"], a["is_recurring"], a["users"] = []any{map[string]any{"email": "buyer@example.com", "status": "yes"}}, false, []any{userID}
	case "SMS":
		a["text"], a["status"], a["direction"], a["local_phone"], a["remote_phone"] = "See you at 3", "sent", "outbound", "+14155550100", "+14155550199"
		a["date_sent"], a["source"] = fmtTime(created), "External"
	case "Created":
		a["source"] = "API"
	case "LeadStatusChange":
		a["old_status_label"], a["new_status_label"], a["old_status_type"], a["new_status_type"] = "Potential", "Qualified", "active", "active"
	case "OpportunityStatusChange":
		a["old_status_label"], a["new_status_label"], a["old_status_type"], a["new_status_type"] = "Demo Scheduled", "Won", "active", "won"
		a["opportunity_value"], a["opportunity_value_currency"], a["opportunity_confidence"] = 50000, "USD", 100
	case "TaskCompleted":
		a["task_id"], a["task_text"], a["task_assigned_to"] = "task_"+s.newID(KindTask)[5:], "Call back", userID
	case "WhatsAppMessage":
		a["direction"], a["message_markdown"], a["external_whatsapp_message_id"] = "inbound", "Hello", fmt.Sprint(r.IntN(1e9))
	case "FormSubmission":
		a["form_id"], a["form_name"], a["form_data"] = "form_1", "Contact us", map[string]any{"message": "Call me"}
	case "Custom":
		a["custom_activity_type_id"], a["status"] = "actitype_1", "published"
		for _, d := range defs {
			if d.choices != nil {
				a["custom."+d.id] = d.choices[0]
			}
		}
	}
	return a
}
