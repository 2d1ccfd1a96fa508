package closefake

import (
	"fmt"
	"strings"
	"time"
)

// activityType is one activity _type: its /activity/<path>/ and the
// suffix of its event log object_type ("activity.<event>").
type activityType struct{ typ, path, event string }

// activityTypes are Close's activity types (§11.5 of close-api.md).
var activityTypes = []activityType{
	{"Call", "call", "call"}, {"Email", "email", "email"}, {"EmailThread", "emailthread", "email_thread"},
	{"Note", "note", "note"}, {"Meeting", "meeting", "meeting"}, {"SMS", "sms", "sms"},
	{"Created", "created", "created"}, {"LeadStatusChange", "status_change/lead", "lead_status_change"},
	{"OpportunityStatusChange", "status_change/opportunity", "opportunity_status_change"},
	{"TaskCompleted", "task_completed", "task_completed"}, {"WhatsAppMessage", "whatsapp_message", "whatsapp_message"},
	{"FormSubmission", "form_submission", "form_submission"}, {"Custom", "custom", "custom_activity"},
}

func activityTypeOf(typ any) (activityType, bool) {
	for _, t := range activityTypes {
		if t.typ == typ {
			return t, true
		}
	}
	return activityType{}, false
}

// customFieldModels are the model names of custom field 404s, by the
// object type a field belongs to (its /custom_field/<type>/ path).
var customFieldModels = map[string]string{
	"lead": "LeadCustomField", "contact": "ContactCustomField", "opportunity": "OpportunityCustomField",
	"activity": "ActivityCustomField", "custom_object_type": "CustomObjectCustomField", "shared": "SharedCustomField",
}

// customFieldEvent is the event log object_type of a custom field:
// custom_fields.<type>, where the fields of custom object types are
// custom_fields.custom_object (their path says custom_object_type).
func customFieldEvent(objType any) string {
	if objType == "custom_object_type" {
		return "custom_fields.custom_object"
	}
	return "custom_fields." + fmt.Sprint(objType)
}

// setDefault sets o[k] = v unless o has k.
func setDefault(o object, k string, v any) {
	if _, ok := o[k]; !ok {
		o[k] = v
	}
}

// The core collections. Their defaults make a Create'd object look like a
// generated one, so every key a client sees on one it sees on all.
var (
	_ = registerKind(&kindSpec{kind: KindLead, prefix: "lead", model: "Lead", defaults: func(s *Server, o object, now time.Time) {
		setDefault(o, "name", "Untitled lead")
		setDefault(o, "display_name", o["name"])
		setDefault(o, "description", "")
		setDefault(o, "url", nil)
		setDefault(o, "source", nil)
		setDefault(o, "addresses", []any{})
		setDefault(o, "integration_links", []any{})
		setDefault(o, "custom", map[string]any{})
		setDefault(o, "html_url", "https://app.close.com/lead/"+o["id"].(string)+"/")
		if _, ok := o["status_id"]; !ok {
			o["status_id"] = s.col(KindLeadStatus).ids()[0]
		}
		s.deriveStatus(KindLead, o)
	}})
	_ = registerKind(&kindSpec{kind: KindContact, prefix: "cont", model: "Contact", leadChild: true, defaults: func(s *Server, o object, now time.Time) {
		setDefault(o, "name", "")
		setDefault(o, "display_name", o["name"])
		setDefault(o, "title", "")
		for _, k := range []string{"emails", "phones", "urls", "integration_links"} {
			setDefault(o, k, []any{})
		}
		setDefault(o, "timezone", nil)
		setDefault(o, "timezone_source", nil)
	}})
	_ = registerKind(&kindSpec{kind: KindOpportunity, prefix: "oppo", model: "Opportunity", leadChild: true, defaults: func(s *Server, o object, now time.Time) {
		lead, _ := s.get(KindLead, fmt.Sprint(o["lead_id"]))
		setDefault(o, "lead_name", lead["display_name"])
		if _, ok := o["status_id"]; !ok {
			o["status_id"] = s.col(KindOpportunityStatus).ids()[0]
		}
		s.deriveStatus(KindOpportunity, o)
		setDefault(o, "value", 0)
		setDefault(o, "value_period", "one_time")
		setDefault(o, "value_currency", "USD")
		setDefault(o, "confidence", 0)
		setOppValues(o)
		for _, k := range []string{"date_won", "date_lost", "contact_id", "contact_name"} {
			setDefault(o, k, nil)
		}
		setDefault(o, "user_id", s.me)
		setDefault(o, "user_name", s.userName(o["user_id"]))
		setDefault(o, "note", "")
		setDefault(o, "note_html", "")
		setDefault(o, "attachments", []any{})
		setDefault(o, "integration_links", []any{})
	}})
	_ = registerKind(&kindSpec{kind: KindTask, prefix: "task", model: "Task", leadChild: true,
		eventType: func(o object) string { return "task." + fmt.Sprint(o["_type"]) },
		defaults: func(s *Server, o object, now time.Time) {
			lead, _ := s.get(KindLead, fmt.Sprint(o["lead_id"]))
			setDefault(o, "_type", "lead")
			setDefault(o, "text", "")
			setDefault(o, "lead_name", lead["display_name"])
			setDefault(o, "contact_id", nil)
			setDefault(o, "contact_name", nil)
			setDefault(o, "assigned_to", s.me)
			setDefault(o, "assigned_to_name", s.userName(o["assigned_to"]))
			setDefault(o, "date", fmtDate(now))
			setDefault(o, "due_date", o["date"])
			setDefault(o, "is_complete", false)
			setDefault(o, "is_dateless", len(fmt.Sprint(o["date"])) == 10)
			setDefault(o, "view", taskView(o, now))
			setDefault(o, "object_type", nil)
			setDefault(o, "object_id", nil)
			setDefault(o, "priority", "normal")
		}})
	_ = registerKind(&kindSpec{kind: KindActivity, prefix: "acti", model: "Activity", leadChild: true,
		modelOf: func(o object) string { return fmt.Sprint(o["_type"]) },
		eventType: func(o object) string {
			t, _ := activityTypeOf(o["_type"])
			return "activity." + t.event
		},
		defaults: func(s *Server, o object, now time.Time) {
			setDefault(o, "_type", "Note")
			setDefault(o, "contact_id", nil)
			setDefault(o, "user_id", s.me)
			setDefault(o, "user_name", s.userName(o["user_id"]))
			setDefault(o, "users", []any{})
			setDefault(o, "activity_at", o["date_created"])
		}})
	_ = registerKind(&kindSpec{kind: KindUser, prefix: "user", model: "User", defaults: func(s *Server, o object, now time.Time) {
		for _, k := range []string{"email", "first_name", "last_name", "image"} {
			setDefault(o, k, "")
		}
		setDefault(o, "organizations", []any{s.orgID})
		setDefault(o, "last_used_timezone", "UTC")
		setDefault(o, "email_verified_at", nil)
		setDefault(o, "google_profile_image_url", nil)
	}})
	_ = registerKind(&kindSpec{kind: KindLeadStatus, prefix: "stat", model: "LeadStatus",
		eventType: func(object) string { return "status.lead" },
		defaults:  func(s *Server, o object, _ time.Time) { setDefault(o, "label", "New status") }})
	_ = registerKind(&kindSpec{kind: KindOpportunityStatus, prefix: "stat", model: "OpportunityStatus",
		eventType: func(object) string { return "status.opportunity" },
		defaults: func(s *Server, o object, _ time.Time) {
			setDefault(o, "label", "New status")
			setDefault(o, "type", "active")
			setDefault(o, "pipeline_id", s.pipeline)
		}})
	_ = registerKind(&kindSpec{kind: KindCustomField, prefix: "cf", hidden: []string{"object_type"},
		modelOf:   func(o object) string { return customFieldModels[fmt.Sprint(o["object_type"])] },
		eventType: func(o object) string { return customFieldEvent(o["object_type"]) },
		defaults: func(s *Server, o object, _ time.Time) {
			setDefault(o, "object_type", "lead")
			setDefault(o, "name", "New field")
			setDefault(o, "description", "")
			setDefault(o, "type", "text")
			setDefault(o, "choices", nil)
			setDefault(o, "accepts_multiple_values", false)
			setDefault(o, "editable_with_roles", []any{})
			setDefault(o, "is_shared", o["object_type"] == "shared")
			setDefault(o, "referenced_custom_type_id", nil)
			setDefault(o, "back_reference_is_visible", false)
		}})
	// Custom object instances belong to a lead and a custom object type.
	// Close's examples show no *_name audit fields on them, which Create
	// adds to lead children, so the defaults take those out again.
	_ = registerKind(&kindSpec{kind: KindCustomObject, prefix: "custobj", model: "CustomObject", leadChild: true,
		defaults: func(s *Server, o object, _ time.Time) {
			setDefault(o, "name", "Untitled")
			if _, ok := o["custom_object_type_id"]; !ok {
				if types := s.col("custom_object_type").ids(); len(types) > 0 {
					o["custom_object_type_id"] = types[0]
				}
			}
			delete(o, "created_by_name")
			delete(o, "updated_by_name")
		}})
)

// deriveStatus sets the status fields Close derives from status_id.
func (s *Server) deriveStatus(kind string, o object) {
	statusKind := KindLeadStatus
	if kind == KindOpportunity {
		statusKind = KindOpportunityStatus
	}
	st, ok := s.get(statusKind, fmt.Sprint(o["status_id"]))
	if !ok {
		return
	}
	o["status_label"] = st["label"]
	if kind == KindOpportunity {
		o["status_display_name"] = st["label"]
		o["status_type"] = st["type"]
		o["pipeline_id"] = st["pipeline_id"]
		if p, ok := s.get("pipeline", fmt.Sprint(st["pipeline_id"])); ok {
			o["pipeline_name"] = p["name"]
		}
	}
}

// setOppValues derives an opportunity's expected and annualized values (in
// cents) and value_formatted from value, value_period and confidence.
func setOppValues(o object) {
	value, conf := toInt(o["value"]), toInt(o["confidence"])
	annual := value
	if o["value_period"] == "monthly" {
		annual = value * 12
	}
	o["expected_value"] = value * conf / 100
	o["annualized_value"] = annual
	o["annualized_expected_value"] = annual * conf / 100
	suffix := map[any]string{"monthly": " monthly", "annual": " annually"}[o["value_period"]]
	o["value_formatted"] = formatCents(value) + suffix
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

// formatCents renders cents as Close does: "$1,250" or "$1,250.50".
func formatCents(cents int) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	d := fmt.Sprint(cents / 100)
	var b strings.Builder
	for i, r := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := sign + "$" + b.String()
	if c := cents % 100; c != 0 {
		out += fmt.Sprintf(".%02d", c)
	}
	return out
}

// taskView is the inbox/future/archive bucket Close files a task in.
func taskView(o object, now time.Time) string {
	if o["is_complete"] == true {
		return "archive"
	}
	if timeKey(o["date"]) > timeKey(fmtTime(now)) {
		return "future"
	}
	return "inbox"
}
