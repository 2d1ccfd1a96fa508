package closefake

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

var (
	firstNames = []string{"Ada", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances", "Alan", "Radia", "Edsger", "Hedy",
		"Katherine", "John", "Sophie", "Tim", "Joan", "Donald", "Anita", "Guido"}
	lastNames = []string{"Lovelace", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie", "Allen", "Turing", "Perlman",
		"Dijkstra", "Lamarr", "Johnson", "McCarthy", "Wilson", "Berners-Lee", "Clarke", "Knuth", "Borg", "van Rossum"}
	companies = []string{"Bluth", "Initech", "Hooli", "Vandelay", "Wonka", "Acme", "Globex", "Umbrella", "Stark", "Wayne", "Tyrell",
		"Cyberdyne", "Soylent", "Massive Dynamic", "Pied Piper", "Dunder Mifflin"}
	suffixes  = []string{"Inc", "LLC", "GmbH", "Ltd", "Co", "Group", "Corp"}
	cities    = [][3]string{{"San Francisco", "CA", "US"}, {"Austin", "TX", "US"}, {"Berlin", "", "DE"}, {"Prague", "", "CZ"}, {"Lisbon", "", "PT"}, {"Toronto", "ON", "CA"}}
	timezones = []string{"America/Los_Angeles", "America/Chicago", "America/New_York", "Europe/Berlin", "Europe/Prague", "Europe/Lisbon"}
	// Task _types; "lead" dominates as it does in real organisations.
	taskTypes = []string{"lead", "lead", "lead", "lead", "email_followup", "missed_call", "voicemail", "incoming_email", "opportunity_due",
		"incoming_sms", "answered_detached_call", "outgoing_call"}
	// taskObjectTypes is what a non-lead task points at (object_type).
	taskObjectTypes = map[string]string{"email_followup": "emailthread", "incoming_email": "emailthread", "missed_call": "call",
		"voicemail": "call", "answered_detached_call": "call", "incoming_sms": "sms", "opportunity_due": "opportunity"}
	// activityWeights picks the types of a lead's further activities.
	activityWeights = []struct {
		typ    string
		weight int
	}{{"Call", 22}, {"Email", 22}, {"Note", 14}, {"Meeting", 6}, {"SMS", 6}, {"LeadStatusChange", 8}, {"OpportunityStatusChange", 5},
		{"TaskCompleted", 5}, {"WhatsAppMessage", 3}, {"FormSubmission", 3}, {"Custom", 6}}
)

// Shared immutable values: objects never change in place, so every empty
// list can be the same one.
var emptyList = []any{}

// customDef is a custom field definition values are generated for.
type customDef struct {
	id, typ string
	choices []any
	multi   bool
}

// gen holds what generation needs beyond the store.
type gen struct {
	s            *Server
	r            *rand.Rand
	now, start   time.Time
	users        []string
	leadStatuses []object
	oppStatuses  []object // of the Sales pipeline
	defs         map[string][]customDef
	actTypes     []string // custom activity type ids
	actTypeDefs  map[string][]customDef
	bulkTimes    []time.Time // shared date_updated of bulk-edited leads
	importTimes  []time.Time // shared date_created of imported leads
	// owed are the types of the first leads' cycle (activities) not made
	// yet because their lead lacked what they point at (a completed task,
	// an opportunity): the next lead that has it makes them.
	owed []string
}

// generate builds the organisation: users, statuses and pipelines, custom
// fields, leads with contacts, opportunities, tasks and activities, the
// configuration collections, the event log of the last 30 days, and last
// custom object instances (from their own generator, customobjects.go).
func (s *Server) generate() {
	now := s.now()
	g := &gen{s: s, r: s.rng, now: now, start: now.Add(-dataSpan), defs: map[string][]customDef{}, actTypeDefs: map[string][]customDef{}}
	s.orgID = s.newID("orga")
	if s.opts.OrganizationID != "" {
		s.orgID = s.opts.OrganizationID
	}
	g.makeUsers()
	g.statuses()
	g.customFields()
	nBulk, nImport := 2+s.opts.Scale/10000, 1+s.opts.Scale/5000
	for range nBulk {
		g.bulkTimes = append(g.bulkTimes, now.Add(-time.Duration(g.r.Int64N(int64(60*24*time.Hour)))).Truncate(time.Millisecond))
	}
	for range nImport {
		g.importTimes = append(g.importTimes, g.between(g.start, now.Add(-90*24*time.Hour)).Truncate(time.Second))
	}
	for i := range s.opts.Scale {
		g.lead(i)
	}
	s.generateDimensions(g)
	g.events()
	g.pastEdits()
	g.customObjects()
}

// between is a uniform instant in [a, b] at millisecond precision.
func (g *gen) between(a, b time.Time) time.Time {
	if !b.After(a) {
		return a
	}
	return a.Add(time.Duration(g.r.Int64N(int64(b.Sub(a))))).Truncate(time.Millisecond)
}

// soon is an instant shortly after t (within d), never after now.
func (g *gen) soon(t time.Time, d time.Duration) time.Time {
	return g.between(t, minTime(t.Add(d), g.now))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// updatedAfter picks a date_updated for something created at t: a third
// never changed, a third changed soon after, a third changed any time
// since.
func (g *gen) updatedAfter(t time.Time) time.Time {
	switch g.r.IntN(3) {
	case 0:
		return t
	case 1:
		return g.soon(t, 48*time.Hour)
	}
	return g.between(t, g.now)
}

func (g *gen) user() string { return g.users[g.r.IntN(len(g.users))] }

// audit sets the fields every object carries.
func (g *gen) audit(o object, created, updated time.Time, by string) {
	o["organization_id"] = g.s.orgID
	// Equal values share one boxed string: objects are immutable.
	var c any = fmtTime(created)
	o["date_created"], o["date_updated"] = c, c
	if !updated.Equal(created) {
		o["date_updated"] = fmtTime(updated)
	}
	var who any = by
	name := g.s.userName(by)
	o["created_by"], o["created_by_name"], o["updated_by"], o["updated_by_name"] = who, name, who, name
}

// sized copies o into a map with room for n keys, so filling in the rest
// does not grow it step by step.
func sized(n int, o object) object {
	m := make(object, n)
	for k, v := range o {
		m[k] = v
	}
	return m
}

func (g *gen) makeUsers() {
	s := g.s
	n := 4 + s.opts.Scale/100
	for i := range n {
		f, l := firstNames[i%len(firstNames)], lastNames[(i*7+i/len(firstNames))%len(lastNames)]
		created := g.between(g.start.Add(-180*24*time.Hour), g.start)
		u := object{"id": s.newID("user"), "email": strings.ToLower(fmt.Sprintf("%s.%s%d@example.com", f, strings.ReplaceAll(l, " ", ""), i)),
			"first_name": f, "last_name": l, "image": fmt.Sprintf("https://secure.gravatar.com/avatar/%032x", g.r.Uint64()),
			"organizations": []any{s.orgID}, "last_used_timezone": timezones[i%len(timezones)],
			"date_created": fmtTime(created), "date_updated": fmtTime(g.updatedAfter(created)), "email_verified_at": fmtTime(g.soon(created, time.Hour)),
			"google_profile_image_url": nil}
		if i%3 == 1 {
			u["google_profile_image_url"] = "https://lh3.googleusercontent.com/a/" + u["id"].(string)[5:]
		}
		s.put(KindUser, u)
		g.users = append(g.users, u["id"].(string))
	}
	s.me = s.col(KindUser).ids()[0]
}

func (g *gen) statuses() {
	s := g.s
	created := g.start.Add(-200 * 24 * time.Hour)
	for _, label := range []string{"Potential", "Bad Fit", "Qualified", "Customer", "Canceled"} {
		st := object{"id": s.newID("stat"), "label": label, "organization_id": s.orgID}
		s.put(KindLeadStatus, st)
		g.leadStatuses = append(g.leadStatuses, st)
	}
	for p, pl := range []struct {
		name     string
		statuses [][2]string
	}{
		{"Sales", [][2]string{{"Demo Scheduled", "active"}, {"Proposal Sent", "active"}, {"Contract Sent", "active"}, {"Won", "won"}, {"Lost", "lost"}}},
		{"Renewals", [][2]string{{"Renewal Due", "active"}, {"Renewed", "won"}, {"Churned", "lost"}}},
	} {
		pid := s.newID("pipe")
		if p == 0 {
			s.pipeline = pid
		}
		var embedded []any
		for _, st := range pl.statuses {
			o := object{"id": s.newID("stat"), "label": st[0], "type": st[1], "pipeline_id": pid, "organization_id": s.orgID}
			s.put(KindOpportunityStatus, o)
			embedded = append(embedded, object{"id": o["id"], "label": o["label"], "type": o["type"]})
			if p == 0 {
				g.oppStatuses = append(g.oppStatuses, o)
			}
		}
		pc := created.Add(time.Duration(p) * 97 * 24 * time.Hour).Add(time.Duration(g.r.Int64N(int64(time.Hour))))
		by := g.users[0]
		s.put("pipeline", object{"id": pid, "name": pl.name, "organization_id": s.orgID, "statuses": embedded,
			"created_by": by, "updated_by": by, "date_created": naiveTime(pc), "date_updated": naiveTime(pc.Add(36 * time.Hour))})
	}
}

func (g *gen) customFields() {
	s := g.s
	by := g.users[0]
	add := func(objType, name, typ string, choices []any, multi bool, actType string) customDef {
		created := g.between(g.start.Add(-60*24*time.Hour), g.start.Add(200*24*time.Hour))
		f := object{"id": s.newID("cf"), "name": name, "description": "", "type": typ, "choices": choices, "accepts_multiple_values": multi,
			"editable_with_roles": emptyList, "is_shared": objType == "shared", "referenced_custom_type_id": nil,
			"back_reference_is_visible": false, "always_visible": false, "organization_id": s.orgID, "object_type": objType,
			"created_by": by, "updated_by": by, "date_created": fmtTime(created), "date_updated": fmtTime(g.updatedAfter(created))}
		switch objType {
		case "activity":
			f["custom_activity_type_id"], f["required"] = actType, false
		case "shared":
			f["associations"] = []any{object{"object_type": "lead", "custom_activity_type_id": nil, "editable_with_roles": emptyList,
				"required": false, "show_in_inbox": false}}
		}
		s.put(KindCustomField, f)
		return customDef{id: f["id"].(string), typ: typ, choices: choices, multi: multi}
	}
	lead := func(d customDef) { g.defs["lead"] = append(g.defs["lead"], d) }
	lead(add("lead", "Lead Source", "choices", []any{"Website", "Referral", "Event", "Outbound", "Partner"}, false, ""))
	lead(add("lead", "Employees", "number", nil, false, ""))
	lead(add("lead", "ARR", "number", nil, false, ""))
	lead(add("lead", "Renewal Date", "date", nil, false, ""))
	lead(add("lead", "Industries", "choices", []any{"SaaS", "Retail", "Finance", "Health", "Education"}, true, ""))
	lead(add("lead", "Account Owner", "user", nil, false, ""))
	lead(add("lead", "Last Touch", "datetime", nil, false, ""))
	lead(add("lead", "Notes", "textarea", nil, false, ""))
	g.defs["contact"] = []customDef{add("contact", "LinkedIn", "text", nil, false, ""), add("contact", "Birthday", "date", nil, false, ""),
		add("contact", "Webinar Attended At", "datetime", nil, false, "")}
	for i := range s.opts.ExtraContactFields {
		g.defs["contact"] = append(g.defs["contact"], add("contact", fmt.Sprintf("Extra %03d", i+1), "text", nil, false, ""))
	}
	g.defs["opportunity"] = []customDef{add("opportunity", "Contract Length", "number", nil, false, ""),
		add("opportunity", "Competitor", "text", nil, false, ""),
		add("opportunity", "Close Reason", "choices", []any{"Price", "Timing", "Features", "Champion left"}, false, "")}
	for i, t := range []string{"Demo Feedback", "Site Visit"} {
		id := s.newID("actitype")
		g.actTypes = append(g.actTypes, id)
		var defs []customDef
		var fields []any
		mk := func(name, typ string, choices []any) {
			d := add("activity", name, typ, choices, false, id)
			defs = append(defs, d)
			fields = append(fields, object{"id": d.id, "name": name, "type": typ, "choices": choices, "required": false})
		}
		if i == 0 {
			mk("Feedback Score", "number", nil)
			mk("Next Step", "choices", []any{"Trial", "Proposal", "No fit"})
		} else {
			mk("Visit Notes", "text", nil)
		}
		g.actTypeDefs[id] = defs
		created := g.start.Add(time.Duration(i+1) * 40 * 24 * time.Hour)
		s.put("custom_activity_type", object{"id": id, "name": t, "description": "", "api_create_only": false,
			"editable_with_roles": emptyList, "fields": fields, "organization_id": s.orgID, "created_by": by, "updated_by": by,
			"date_created": naiveTime(created), "date_updated": naiveTime(created.Add(2 * time.Hour))})
	}
	g.defs["lead"] = append(g.defs["lead"], add("shared", "Region", "choices", []any{"EMEA", "AMER", "APAC"}, false, ""))
}

// setCustom sets values of some of defs on o (Close sends a custom.cf_*
// key only when the field has a value).
func (g *gen) setCustom(o object, defs []customDef, created time.Time) {
	for _, d := range defs {
		if g.r.IntN(5) < 2 {
			continue
		}
		var v any
		switch d.typ {
		case "choices":
			v = d.choices[g.r.IntN(len(d.choices))]
			if d.multi {
				a, b := g.r.IntN(len(d.choices)), g.r.IntN(len(d.choices))
				v = []any{d.choices[min(a, b)]}
				if a != b {
					v = []any{d.choices[min(a, b)], d.choices[max(a, b)]}
				}
			}
		case "number":
			v = 1 + g.r.IntN(5000)
			if g.r.IntN(3) == 0 {
				v = float64(g.r.IntN(1000000)) / 100
			}
		case "date":
			v = fmtDate(g.between(created.Add(-365*24*time.Hour), g.now.Add(365*24*time.Hour)))
		case "datetime":
			v = fmtTime(g.between(created, g.now))
		case "user":
			v = g.user()
		case "textarea":
			v = "Met at the conference.\nInterested in the annual plan."
		default:
			v = fmt.Sprintf("https://www.linkedin.com/in/p%06d", g.r.IntN(1e6))
		}
		o["custom."+d.id] = v
	}
}

func (g *gen) phone() (string, string) {
	area, n := 200+g.r.IntN(700), g.r.IntN(1e7)
	return fmt.Sprintf("+1%03d%07d", area, n), fmt.Sprintf("+1 %03d-%03d-%04d", area, n/10000, n%10000)
}

func (g *gen) lead(i int) {
	s, r := g.s, g.r
	created := g.between(g.start, g.now)
	if i%50 == 7 { // imported in a batch: one shared, fractionless date_created
		created = g.importTimes[(i/50)%len(g.importTimes)]
	}
	by := g.user()
	company := companies[r.IntN(len(companies))]
	name := fmt.Sprintf("%s %s %d", company, suffixes[r.IntN(len(suffixes))], i)
	st := g.leadStatuses[r.IntN(len(g.leadStatuses))]
	id := s.newID("lead")
	lead := sized(28, object{"id": id, "name": name, "display_name": name, "description": "", "url": nil, "source": nil,
		"status_id": st["id"], "status_label": st["label"], "html_url": "https://app.close.com/lead/" + id + "/", "custom": map[string]any{}})
	if r.IntN(3) > 0 {
		lead["url"] = "https://" + strings.ToLower(strings.ReplaceAll(company, " ", "")) + ".example.com"
	}
	if r.IntN(4) == 0 {
		lead["description"] = "Inbound from the pricing page."
	}
	addrs := []any{}
	for a := range r.IntN(3) {
		c := cities[r.IntN(len(cities))]
		addrs = append(addrs, object{"label": []string{"business", "mailing"}[a], "address_1": fmt.Sprintf("%d Main St", 1+r.IntN(999)),
			"address_2": "", "city": c[0], "state": c[1], "zipcode": fmt.Sprint(10000 + r.IntN(89999)), "country": c[2]})
	}
	lead["addresses"] = addrs
	g.setCustom(lead, g.defs["lead"], created)

	// Contacts are mostly created with the lead; adding one later updates
	// the lead, so the lead's date_updated is never older.
	var contacts []object
	last := created
	for c := range 1 + r.IntN(3) {
		cc := created.Add(time.Duration(r.IntN(900)) * time.Millisecond)
		if c > 0 && r.IntN(3) == 0 {
			cc = g.between(created, g.now)
		}
		last = maxTime(last, cc)
		contacts = append(contacts, g.contact(id, cc))
	}
	updated := maxTime(g.updatedAfter(created), last)
	// A few leads were bulk-edited together and share one date_updated.
	if i%20 == 3 {
		if t := g.bulkTimes[(i/20)%len(g.bulkTimes)]; !t.Before(last) {
			updated = t
		}
	}
	g.audit(lead, created, updated, by)
	s.put(KindLead, lead)
	for _, c := range contacts {
		s.put(KindContact, c)
	}

	var opps, tasks []object
	for range r.IntN(3) {
		opps = append(opps, g.opportunity(lead, contacts[0]))
	}
	for range r.IntN(3) {
		tasks = append(tasks, g.task(lead, contacts[0], opps))
	}
	g.activities(i, lead, contacts, opps, tasks)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (g *gen) contact(leadID string, created time.Time) object {
	s, r := g.s, g.r
	f, l := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
	full := f + " " + l
	emails := []any{}
	for e := range r.IntN(3) {
		emails = append(emails, object{"type": []string{"office", "home", "other"}[e],
			"email":           strings.ToLower(fmt.Sprintf("%s.%s%d@%s.example", f, strings.ReplaceAll(l, " ", ""), e, leadID[5:9])),
			"is_unsubscribed": r.IntN(10) == 0})
	}
	phones := []any{}
	for p := range r.IntN(3) {
		n, nf := g.phone()
		phones = append(phones, object{"type": []string{"office", "mobile", "direct"}[p], "phone": n, "phone_formatted": nf, "country": "US"})
	}
	urls := []any{}
	if r.IntN(3) == 0 {
		urls = append(urls, object{"type": "url", "url": "https://www.linkedin.com/in/" + strings.ToLower(f+l)})
	}
	ct := sized(28, object{"id": s.newID("cont"), "lead_id": leadID, "name": full, "display_name": full,
		"title":  []string{"VP Sales", "CEO", "Head of Ops", "", "Account Manager"}[r.IntN(5)],
		"emails": emails, "phones": phones, "urls": urls, "timezone": nil, "timezone_source": nil})
	if len(phones) > 0 {
		ct["timezone"], ct["timezone_source"] = timezones[r.IntN(3)], "inferred_from_phone_number"
	}
	g.audit(ct, created, g.updatedAfter(created), g.user())
	g.setCustom(ct, g.defs["contact"], created)
	return ct
}

func (g *gen) opportunity(lead, contact object) object {
	s, r := g.s, g.r
	created := g.soon(mustTime(lead["date_created"]), 90*24*time.Hour)
	updated := g.updatedAfter(created)
	st := g.oppStatuses[r.IntN(len(g.oppStatuses))]
	u := g.user()
	op := sized(56, object{"id": s.newID("oppo"), "lead_id": lead["id"], "lead_name": lead["display_name"], "status_id": st["id"],
		"value": 100 * (500 + r.IntN(50000)), "value_period": []string{"one_time", "monthly", "annual"}[r.IntN(3)], "value_currency": "USD",
		"confidence": []int{0, 10, 25, 50, 75, 90, 100}[r.IntN(7)], "date_won": nil, "date_lost": nil,
		"contact_id": contact["id"], "contact_name": contact["name"], "user_id": u, "user_name": s.userName(u),
		"note": "", "note_html": "", "attachments": emptyList, "integration_links": emptyList})
	if r.IntN(4) == 0 {
		op["value"] = op["value"].(int) + r.IntN(100) // some values have cents
	}
	if r.IntN(3) == 0 {
		op["note"], op["note_html"] = "Budget approved for Q3.", "<body><p>Budget approved for Q3.</p></body>"
	}
	s.deriveStatus(KindOpportunity, op)
	switch st["type"] {
	case "won":
		op["date_won"], op["confidence"] = fmtDate(g.between(created, updated)), 100
	case "lost":
		op["date_lost"], op["confidence"] = fmtDate(g.between(created, updated)), 0
	}
	setOppValues(op)
	g.audit(op, created, updated, u)
	g.setCustom(op, g.defs["opportunity"], created)
	s.put(KindOpportunity, op)
	return op
}

func (g *gen) task(lead, contact object, opps []object) object {
	s, r := g.s, g.r
	created := g.between(mustTime(lead["date_created"]), g.now)
	typ := taskTypes[r.IntN(len(taskTypes))]
	u := g.user()
	due := created.Add(time.Duration(r.IntN(14*24)) * time.Hour)
	date := any(fmtTime(due))
	dateless := r.IntN(4) == 0
	if dateless {
		date = fmtDate(due)
	}
	// Draw first: the random stream must not depend on the clock.
	done := r.IntN(2) == 0 && due.Before(g.now)
	updated := g.updatedAfter(created)
	if done {
		updated = maxTime(updated, g.between(due, g.now))
	}
	tk := sized(28, object{"id": s.newID("task"), "_type": typ, "text": "Follow up with " + fmt.Sprint(contact["name"]), "lead_id": lead["id"],
		"lead_name": lead["display_name"], "contact_id": contact["id"], "contact_name": contact["name"], "assigned_to": u,
		"assigned_to_name": s.userName(u), "date": date, "due_date": date, "is_complete": done, "is_dateless": dateless,
		"object_type": nil, "object_id": nil, "priority": []string{"normal", "normal", "high"}[r.IntN(3)]})
	if ot, ok := taskObjectTypes[typ]; ok {
		tk["object_type"] = ot
		tk["object_id"] = s.newID("acti")
		if ot == "opportunity" {
			tk["object_id"] = nil
			if len(opps) > 0 {
				tk["object_id"] = opps[0]["id"]
			}
		}
		tk["text"] = map[string]string{"emailthread": "Reply to email", "call": "Call back", "sms": "Reply to SMS", "opportunity": "Opportunity due"}[ot]
	}
	tk["view"] = taskView(tk, g.now)
	g.audit(tk, created, updated, u)
	s.put(KindTask, tk)
	return tk
}

// activities makes a lead's Created activity and a few others. The first
// leads cycle through every type so even a small organisation has each.
func (g *gen) activities(i int, lead object, contacts, opps, tasks []object) {
	created := mustTime(lead["date_created"])
	g.activity("Created", lead, contacts[0], opps, tasks, created, nil)
	if i < len(activityWeights) {
		g.owed = append(g.owed, activityWeights[i].typ)
	}
	var types []string
	rest := g.owed[:0]
	for _, typ := range g.owed {
		if canMake(typ, opps, tasks) {
			types = append(types, typ)
		} else {
			rest = append(rest, typ)
		}
	}
	g.owed = rest
	total := 0
	for _, w := range activityWeights {
		total += w.weight
	}
	for range g.r.IntN(4) {
		n := g.r.IntN(total)
		for _, w := range activityWeights {
			if n -= w.weight; n < 0 {
				types = append(types, w.typ)
				break
			}
		}
	}
	var thread object
	for _, typ := range types {
		at := g.between(created, g.now)
		contact := contacts[g.r.IntN(len(contacts))]
		if typ == "Email" && thread == nil {
			thread = g.activity("EmailThread", lead, contact, opps, tasks, at, nil)
		}
		if thread != nil && typ == "Email" {
			at = maxTime(at, mustTime(thread["date_created"]))
		}
		g.activity(typ, lead, contact, opps, tasks, at, thread)
	}
}

// canMake reports whether a lead with these opportunities and tasks can
// have an activity of type typ (activity falls back to a note otherwise).
func canMake(typ string, opps, tasks []object) bool {
	switch typ {
	case "OpportunityStatusChange":
		return len(opps) > 0
	case "TaskCompleted":
		for _, t := range tasks {
			if t["is_complete"] == true {
				return true
			}
		}
		return false
	}
	return true
}

// activity builds and stores one activity with its type-specific fields.
func (g *gen) activity(typ string, lead, contact object, opps, tasks []object, created time.Time, thread object) object {
	s, r := g.s, g.r
	u := g.user()
	if typ == "Created" {
		u = lead["created_by"].(string)
	}
	// Fall back to a note where the lead lacks what the type points at.
	var task object
	for _, t := range tasks {
		if t["is_complete"] == true {
			task = t
		}
	}
	if !canMake(typ, opps, tasks) {
		typ = "Note"
	}
	size := 28
	if typ == "Call" || typ == "Email" {
		size = 56
	}
	a := sized(size, object{"id": s.newID("acti"), "_type": typ, "lead_id": lead["id"], "contact_id": contact["id"], "user_id": u,
		"user_name": s.userName(u), "users": emptyList, "activity_at": fmtTime(created)})
	updated := created
	local, localF := "+14155550100", "+1 415-555-0100"
	remote, remoteF := g.phone()
	switch typ {
	case "Created":
		a["contact_id"] = nil
		a["source"] = []string{"Close.io", "API", "Import"}[r.IntN(3)]
	case "Call":
		dir := []string{"outbound", "outbound", "inbound"}[r.IntN(3)]
		status := []string{"completed", "completed", "no-answer", "busy"}[r.IntN(4)]
		dur := 0
		var disp any = nil
		if status == "completed" {
			dur = 20 + r.IntN(1800)
			disp = []any{"answered", "vm-left", "vm-answer"}[r.IntN(3)]
		}
		rec := dur > 0 && r.IntN(2) == 0
		a["direction"], a["status"], a["disposition"], a["duration"], a["voicemail_duration"] = dir, status, disp, dur, 0
		a["voicemail_url"], a["recording_url"], a["has_recording"], a["recording_expires_at"] = nil, nil, rec, nil
		if rec {
			a["recording_url"] = "https://api.close.com/call/" + a["id"].(string) + "/recording/"
			a["recording_expires_at"] = fmtTime(created.Add(90 * 24 * time.Hour))
		}
		a["phone"], a["local_phone"], a["local_phone_formatted"], a["remote_phone"], a["remote_phone_formatted"] = remote, local, localF, remote, remoteF
		a["local_country_iso"], a["remote_country_iso"] = "US", "US"
		a["note"], a["note_html"], a["cost"], a["call_method"], a["source"] = "", "", nil, "regular", "Close.io"
		if dur > 0 {
			a["cost"] = fmt.Sprintf("%d", 1+dur/60)
		}
		if r.IntN(3) == 0 { // a note added after the call
			a["note"], a["note_html"] = "Wants a proposal by Friday.", "<body><p>Wants a proposal by Friday.</p></body>"
			updated = g.soon(created, 2*time.Hour)
		}
		for _, k := range []string{"dialer_id", "dialer_saved_search_id", "sequence_id", "sequence_name", "sequence_subscription_id",
			"transferred_from", "transferred_to", "transferred_from_user_id", "transferred_to_user_id", "forwarded_to"} {
			a[k] = nil
		}
		a["is_forwarded"], a["is_joinable"], a["is_to_group_number"], a["coach_legs"] = false, false, false, emptyList
		a["date_answered"] = nil
		if status == "completed" {
			a["date_answered"] = fmtTime(created.Add(time.Duration(3+r.IntN(20)) * time.Second))
		}
	case "EmailThread":
		a["n_emails"], a["latest_normalized_subject"] = 1+r.IntN(4), "pricing"
		a["participants"] = []any{object{"email": "rep@example.com", "name": s.userName(u)}, object{"email": "buyer@example.com", "name": contact["name"]}}
		a["contact_id"] = contact["id"]
	case "Email":
		out := r.IntN(3) > 0
		from, to := "rep@example.com", "buyer@example.com"
		dir := "outgoing"
		if !out {
			from, to, dir = to, from, "incoming"
		}
		sent := created.Truncate(time.Second) // Close sends email activity_at without a fraction
		msgID := fmt.Sprintf("<%s@mail.example.com>", a["id"].(string)[5:])
		a["direction"], a["status"], a["subject"], a["sender"] = dir, "sent", "Re: Pricing", from
		a["to"], a["cc"], a["bcc"] = []any{to}, emptyList, emptyList
		a["body_text"], a["body_html"], a["body_preview"] = "Hi, see the attached proposal.", "<p>Hi, see the attached proposal.</p>", "Hi, see the attached proposal."
		a["envelope"] = object{"from": []any{object{"email": from, "name": ""}}, "sender": []any{object{"email": from, "name": ""}},
			"to": []any{object{"email": to, "name": ""}}, "cc": emptyList, "bcc": emptyList, "reply_to": emptyList,
			"date": sent.Format(time.RFC1123Z), "subject": "Re: Pricing", "message_id": msgID, "in_reply_to": nil, "is_autoreply": false}
		a["thread_id"], a["template_id"], a["template_name"], a["attachments"] = thread["id"], nil, nil, emptyList
		a["opens"], a["opens_summary"], a["send_attempts"] = emptyList, nil, emptyList
		a["date_sent"], a["date_scheduled"], a["email_account_id"] = fmtTime(sent), nil, nil
		a["message_ids"], a["references"], a["in_reply_to_id"] = []any{msgID}, emptyList, nil
		a["need_smtp_credentials"], a["has_reply"], a["send_as_id"] = false, false, nil
		a["sequence_id"], a["sequence_name"], a["sequence_subscription_id"] = nil, nil, nil
		a["activity_at"] = fmtTime(sent)
		if out && r.IntN(2) == 0 {
			a["opens"] = []any{object{"ip_address": "203.0.113.7", "opened_at": fmtTime(created.Add(time.Hour)), "opened_by": to, "user_agent": "Mozilla/5.0"}}
			a["opens_summary"] = "Opened 1 time"
			updated = minTime(created.Add(time.Hour), g.now)
		}
	case "Note":
		a["note"], a["note_html"] = "Talked about pricing and timeline.", "<body><p>Talked about pricing and timeline.</p></body>"
		a["title"], a["pinned_at"] = nil, nil
		if r.IntN(4) == 0 {
			a["title"], a["pinned_at"] = "Pricing", fmtTime(g.soon(created, time.Hour))
			updated = mustTime(a["pinned_at"])
		}
		a["contact_id"] = nil
	case "Meeting":
		start := created.Truncate(time.Hour)
		if start.Before(mustTime(lead["date_created"])) {
			start = start.Add(time.Hour)
		}
		dur := []int{1800, 2700, 3600}[r.IntN(3)]
		a["title"], a["status"], a["location"] = "Demo", "completed", "https://zoom.us/j/123456789"
		a["starts_at"], a["ends_at"], a["duration"] = fmtTime(start), fmtTime(start.Add(time.Duration(dur)*time.Second)), dur
		a["attendees"] = []any{object{"email": "buyer@example.com", "name": contact["name"], "contact_id": contact["id"], "user_id": nil, "status": "yes", "is_organizer": false},
			object{"email": "rep@example.com", "name": s.userName(u), "contact_id": nil, "user_id": u, "status": "yes", "is_organizer": true}}
		a["calendar_event_uids"], a["calendar_event_link"], a["connected_account_id"] = []any{"evt" + a["id"].(string)[5:15]}, nil, nil
		a["is_recurring"], a["integrations"], a["transcripts"], a["users"] = false, emptyList, emptyList, []any{u}
		a["activity_at"] = a["starts_at"]
		if start.After(g.now) {
			a["status"] = "upcoming"
		}
	case "SMS":
		a["text"], a["status"], a["direction"] = "See you at 3pm.", "sent", "outbound"
		a["local_phone"], a["local_phone_formatted"], a["remote_phone"], a["remote_phone_formatted"] = local, localF, remote, remoteF
		a["date_sent"], a["date_scheduled"], a["error_message"], a["source"], a["attachments"] = fmtTime(created), nil, nil, "Close.io", emptyList
	case "LeadStatusChange":
		from, to := g.leadStatuses[r.IntN(len(g.leadStatuses))], g.leadStatuses[r.IntN(len(g.leadStatuses))]
		a["old_status_id"], a["old_status_label"], a["new_status_id"], a["new_status_label"] = from["id"], from["label"], to["id"], to["label"]
		a["contact_id"] = nil
	case "OpportunityStatusChange":
		op := opps[r.IntN(len(opps))]
		from := g.oppStatuses[r.IntN(3)]
		a["opportunity_id"], a["contact_id"] = op["id"], nil
		a["old_status_id"], a["old_status_label"], a["old_status_type"] = from["id"], from["label"], from["type"]
		a["new_status_id"], a["new_status_label"], a["new_status_type"] = op["status_id"], op["status_label"], op["status_type"]
		a["opportunity_value"], a["opportunity_value_formatted"], a["opportunity_value_currency"] = op["value"], op["value_formatted"], "USD"
		a["opportunity_value_period"], a["opportunity_confidence"], a["opportunity_date_won"] = op["value_period"], op["confidence"], op["date_won"]
		a["old_pipeline_id"], a["old_pipeline_name"], a["new_pipeline_id"], a["new_pipeline_name"] = op["pipeline_id"], op["pipeline_name"], op["pipeline_id"], op["pipeline_name"]
	case "TaskCompleted":
		a["task_id"], a["task_text"], a["task_assigned_to"], a["task_assigned_to_name"] = task["id"], task["text"], task["assigned_to"], task["assigned_to_name"]
		a["contact_id"] = nil
	case "WhatsAppMessage":
		a["direction"], a["message_markdown"], a["external_whatsapp_message_id"] = []string{"incoming", "outgoing"}[r.IntN(2)], "Hello! Is the *demo* still on?", fmt.Sprintf("wamid.%d", r.Int64N(1e15))
		a["local_phone"], a["remote_phone"], a["attachments"], a["integration_link"] = local, remote, emptyList, nil
	case "FormSubmission":
		a["form_id"], a["form_name"] = "form_"+s.newID("x")[2:], "Contact us"
		a["submission"] = object{"message": "Please call me back.", "company_size": "11-50"}
	case "Custom":
		t := g.actTypes[r.IntN(len(g.actTypes))]
		a["custom_activity_type_id"], a["status"] = t, "published"
		g.setCustom(a, g.actTypeDefs[t], created)
	}
	g.audit(a, created, updated, u)
	s.put(KindActivity, a)
	return a
}

// events logs what happened in the last 30 days: a "created" event for
// every object created in it and an "updated" one for every object last
// updated in it.
func (g *gen) events() {
	for _, kind := range []string{KindLead, KindContact, KindOpportunity, KindTask, KindActivity, KindCustomField} {
		c := g.s.col(kind)
		for _, id := range c.ids() {
			g.history(kind, c.objs[id])
		}
	}
}

// history logs the "created" and "updated" events of a generated object
// that fall within the event log's 30 days.
func (g *gen) history(kind string, o object) {
	s := g.s
	cutoff := timeKey(fmtTime(g.now.Add(-eventRetention)))
	created, updated := o["date_created"].(string), o["date_updated"].(string)
	if timeKey(created) >= cutoff {
		data := o
		if updated != created { // the object as it was created
			data = cloneWith(o, "date_updated", created, "updated_by", o["created_by"])
			if _, ok := o["updated_by_name"]; ok {
				data["updated_by_name"] = o["created_by_name"]
			}
		}
		s.logEvent(kind, data, "created", nil, nil, mustTime(created), fmt.Sprint(o["created_by"]), nil)
	}
	if timeKey(updated) >= cutoff && updated != created {
		s.logEvent(kind, o, "updated", []string{"date_updated"}, object{"date_updated": created}, mustTime(updated), fmt.Sprint(o["updated_by"]), nil)
	}
}

// cloneWith copies o and sets key/value pairs on the copy.
func cloneWith(o object, kv ...any) object {
	c := make(object, len(o))
	for k, v := range o {
		c[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}
