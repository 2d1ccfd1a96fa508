package extract

import (
	"net/url"
	"slices"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Column helpers keep the declarations below readable.
func str(name string) schema.Column     { return schema.Column{Name: name, Type: schema.Text} }
func ts(name string) schema.Column      { return schema.Column{Name: name, Type: schema.Timestamp} }
func i64(name string) schema.Column     { return schema.Column{Name: name, Type: schema.BigInt} }
func f64(name string) schema.Column     { return schema.Column{Name: name, Type: schema.Double} }
func boolean(name string) schema.Column { return schema.Column{Name: name, Type: schema.Bool} }
func date(name string) schema.Column    { return schema.Column{Name: name, Type: schema.Date} }
func js(name string) schema.Column      { return schema.Column{Name: name, Type: schema.JSON} }
func list(name string) schema.Column    { return schema.Column{Name: name, Type: schema.TextList} }
func custom() schema.Column {
	return schema.Column{Name: "custom", Type: schema.JSON, Source: schema.FromCustom}
}
func tag(name string) schema.Column {
	return schema.Column{Name: name, Type: schema.Text, Source: schema.FromTag}
}

func cols(groups ...[]schema.Column) []schema.Column {
	var out []schema.Column
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// audit are the bookkeeping fields most Close objects carry.
var audit = []schema.Column{
	str("organization_id"), ts("date_created"), ts("date_updated"),
	str("created_by"), str("created_by_name"), str("updated_by"), str("updated_by_name"),
}

// table declares an id-keyed table ordered by date_updated when it has one.
func table(name string, columns []schema.Column, children ...schema.Child) schema.Table {
	t := schema.Table{Name: name, Columns: cols([]schema.Column{str("id")}, columns), Key: []string{"id"}, Children: children}
	if _, ok := t.Column("date_updated"); ok {
		t.Order = "date_updated"
	}
	return t
}

// child declares a table flattened from the array field of parent records.
func child(name, parentCol, field string, columns ...schema.Column) schema.Child {
	return schema.Child{Field: field, Table: schema.Table{
		Name: name,
		Columns: cols([]schema.Column{
			{Name: parentCol, Type: schema.Text, Source: schema.FromParent},
			{Name: schema.ColPosition, Type: schema.Integer, Source: schema.FromPosition},
		}, columns),
		Key: []string{parentCol, schema.ColPosition},
	}}
}

// without returns columns minus the named ones (a child table's parent
// column replaces the item's own copy of it).
func without(columns []schema.Column, names ...string) []schema.Column {
	var out []schema.Column
	for _, c := range columns {
		if !slices.Contains(names, c.Name) {
			out = append(out, c)
		}
	}
	return out
}

func src(path string, kv ...string) []Source {
	s := Source{Path: path}
	if len(kv) > 0 {
		s.Params = url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			s.Params.Set(kv[i], kv[i+1])
		}
	}
	return []Source{s}
}

const (
	defaultOverlap = 2 * time.Minute
	// activityWindow is Stitch's lookback: calls and emails keep changing for
	// a while after they are created.
	activityWindow = 24 * time.Hour
	eventLag       = 5 * time.Minute
	eventRetention = 30 * 24 * time.Hour
)

// Report weights (Report.Weight): a first sync's requests, roughly. The
// event log (50 events a page, every change of 30 days) and activities
// (100 a page, every activity) are the longest walks, then leads (200 a
// page), then the single activity types, contacts and opportunities; tasks
// come 1,000 a page.
const (
	light    = 1
	medium   = 2
	heavy    = 3
	heaviest = 4
)

// updatedSince reads rows updated since the bookmark, walking them in
// creation order (immutable, so the walk is stable under updates).
var updatedSince = Strategy{Filter: ParamFilter, Field: "date_updated", OrderBy: "date_created", Overlap: defaultOverlap, Keyset: "date_created"}

var contactColumns = cols([]schema.Column{
	str("lead_id"), str("name"), str("display_name"), str("title"),
	js("emails"), js("phones"), js("urls"), js("integration_links"),
	str("timezone"), str("timezone_source"), custom(),
}, audit)

var opportunityColumns = cols([]schema.Column{
	str("lead_id"), str("lead_name"), str("status_id"), str("status_label"), str("status_display_name"), str("status_type"),
	str("pipeline_id"), str("pipeline_name"), i64("value"), str("value_period"), str("value_currency"), str("value_formatted"),
	i64("expected_value"), i64("annualized_value"), i64("annualized_expected_value"), i64("confidence"),
	date("date_won"), date("date_lost"), str("contact_id"), str("contact_name"), str("user_id"), str("user_name"),
	str("note"), js("attachments"), js("integration_links"), custom(),
}, audit)

var taskColumns = cols([]schema.Column{
	str("_type"), str("text"), str("lead_id"), str("lead_name"), str("contact_id"), str("contact_name"),
	str("assigned_to"), str("assigned_to_name"), str("date"), date("due_date"), boolean("is_complete"), boolean("is_dateless"),
	str("view"), str("object_type"), str("object_id"), str("priority"),
}, audit)

var activityBase = cols([]schema.Column{
	str("_type"), str("lead_id"), str("contact_id"), str("user_id"), str("user_name"), list("users"),
	ts("activity_at"), custom(),
}, audit)

// activityTypes are the per-type activity endpoints: report suffix, the
// _type its activities have, path and the columns that type adds to the
// common ones.
var activityTypes = []struct {
	report, typ, path, doc string
	extra                  []schema.Column
}{
	{"call", "Call", "call", "", []schema.Column{str("direction"), str("status"), str("disposition"), i64("duration"), i64("voicemail_duration"),
		str("phone"), str("local_phone"), str("remote_phone"), str("note"), str("recording_url"), boolean("has_recording"), f64("cost"),
		str("source"), str("dialer_id"), str("sequence_id"), ts("date_answered")}},
	{"email_threads", "EmailThread", "emailthread", "Email threads (`_type` EmailThread): one row per conversation.",
		[]schema.Column{str("subject"), i64("n_emails"), js("participants"), js("latest_normalized_subject")}},
	{"emails", "Email", "email", "", []schema.Column{str("direction"), str("status"), str("subject"), str("sender"), list("to"), list("cc"), list("bcc"),
		str("body_text"), str("thread_id"), str("template_id"), str("template_name"), ts("date_sent"), ts("date_scheduled"),
		str("email_account_id"), boolean("has_reply"), js("opens"), js("attachments"), str("sequence_id")}},
	{"lead_status_change", "LeadStatusChange", "status_change/lead", "", []schema.Column{str("old_status_id"), str("old_status_label"), str("old_status_type"),
		str("new_status_id"), str("new_status_label"), str("new_status_type")}},
	{"notes", "Note", "note", "", []schema.Column{str("note"), str("note_html"), str("title"), ts("pinned_at")}},
	{"opportunity_status_change", "OpportunityStatusChange", "status_change/opportunity", "", []schema.Column{str("opportunity_id"), str("old_status_id"), str("old_status_label"),
		str("old_status_type"), str("new_status_id"), str("new_status_label"), str("new_status_type"), i64("opportunity_value"),
		str("opportunity_value_currency"), str("opportunity_value_period"), i64("opportunity_confidence"), date("opportunity_date_won"),
		str("old_pipeline_id"), str("new_pipeline_id")}},
	{"meeting", "Meeting", "meeting", "", []schema.Column{str("title"), ts("starts_at"), ts("ends_at"), i64("duration"), str("status"), str("location"),
		js("attendees"), str("connected_account_id"), boolean("is_recurring")}},
	{"sms", "SMS", "sms", "", []schema.Column{str("text"), str("status"), str("direction"), str("local_phone"), str("remote_phone"),
		ts("date_sent"), ts("date_scheduled"), str("error_message"), str("source")}},
	{"created", "Created", "created", "", []schema.Column{str("source")}},
	{"task_completed", "TaskCompleted", "task_completed", "", []schema.Column{str("task_id"), str("task_text"), str("task_assigned_to"), str("task_assigned_to_name")}},
	{"whatsapp_message", "WhatsAppMessage", "whatsapp_message", "", []schema.Column{str("direction"), str("message_markdown"), str("external_whatsapp_message_id"),
		str("local_phone"), str("remote_phone")}},
	{"form_submission", "FormSubmission", "form_submission", "", []schema.Column{str("form_id"), str("form_name"), js("form_data")}},
	{"custom_activity", "Custom", "custom", "Instances of custom activity types (`/activity/custom/`); `custom_activity_type_id` names the type. " +
		"Not named activities_custom: that is the name of the typed view of `activities`.", []schema.Column{str("custom_activity_type_id"),
		str("status")}},
}

// leadDeletes deletes leads by their deletion events; a lead merged into
// another (meta.merge_source_lead_id of the "merged" event) is gone too,
// but its contacts, opportunities, tasks and activities moved to the
// destination.
var leadDeletes = &schema.DeleteRule{ObjectType: "lead", MergeSource: "merge_source_lead_id"}

// withLead deletes rows by the deletion events of objectType (a LIKE
// pattern) and with their lead (lead_id) when it is deleted outright.
func withLead(objectType string) *schema.DeleteRule {
	return &schema.DeleteRule{ObjectType: objectType, Owner: leadDeletes, OwnerColumn: "lead_id"}
}

// deletedBy returns t with its delete rule.
func deletedBy(r *schema.DeleteRule, t schema.Table) schema.Table {
	t.Deletes = r
	return t
}

// customOf returns t whose custom column carries the custom fields of
// objectType and the shared ones: shared fields can be associated with any
// object type and the list endpoint does not say which, so every table
// offers them.
func customOf(objectType string, t schema.Table) schema.Table {
	t.CustomFieldTypes = []string{objectType, "shared"}
	return t
}

// anyObject matches deletion events of every object type. Close ids are
// unique across types (lead_, cont_, acti_ ...), so matching by id alone is
// safe, and it spares guessing the activity event names, which Close's docs
// and third-party catalogs spell differently (activity.lead_status_change
// vs status_change.lead).
const anyObject = "%"

// activityEvents matches the event log's object types of activities
// (activity.call, activity.note ...), whose "updated" events name the
// activities to re-read (RefetchEdited).
const activityEvents = "activity%"

// activityStrategy reads activities created since the bookmark minus the
// attribution window, in creation order.
var activityStrategy = Strategy{Filter: ParamFilter, Field: "date_created", OrderBy: "date_created", Overlap: defaultOverlap,
	Ordered: true, Window: activityWindow, Keyset: "date_created", Windowed: true}

func init() {
	register(
		&Report{
			Name: "leads", History: true, Sources: src("/lead/"), Walk: Offset{PageSize: 200, Counts: true}, Method: Incremental, Weight: heavy,
			Strategy: Strategy{Filter: LeadQuery, Field: "date_updated", Overlap: defaultOverlap, Keyset: "date_created"},
			Custom:   true,
			Export: &ExportSource{Path: "/export/lead/", Body: map[string]any{"format": "json", "type": "leads", "send_done_email": false},
				CustomFields: map[string][]string{"": {"/custom_field/lead/", "/custom_field/shared/"},
					"contacts":      {"/custom_field/contact/", "/custom_field/shared/"},
					"opportunities": {"/custom_field/opportunity/", "/custom_field/shared/"}}, EmptyCustom: true},
			Doc: "Leads. `/lead/` has no date filter parameter, so the legacy `query` (`date_updated >= \"...\" sort:created`) selects " +
				"changed leads, walked in creation order. Contacts, opportunities and tasks also have their own reports; the `leads_*` " +
				"tables are the snapshots embedded in each lead.",
			Table: deletedBy(leadDeletes, customOf("lead", table("leads", cols([]schema.Column{
				str("name"), str("display_name"), str("description"), str("url"), str("status_id"), str("status_label"), str("html_url"),
				str("source"), str("primary_email"), str("primary_phone"), js("integration_links"), custom(),
			}, audit),
				child("leads_addresses", "lead_id", "addresses", str("label"), str("address_1"), str("address_2"), str("city"),
					str("state"), str("zipcode"), str("country")),
				child("leads_contacts", "lead_id", "contacts", cols([]schema.Column{str("id")}, without(contactColumns, "lead_id"))...),
				child("leads_opportunities", "lead_id", "opportunities", cols([]schema.Column{str("id")}, without(opportunityColumns, "lead_id"))...),
				child("leads_tasks", "lead_id", "tasks", cols([]schema.Column{str("id")}, without(taskColumns, "lead_id"))...),
			))),
		},
		&Report{
			Name: "contacts", History: true, Sources: src("/data/search/", "object_type", "contact"), Walk: Search{CustomFields: "/custom_field/contact/"},
			Method: Incremental, Weight: medium, Strategy: Strategy{Field: "date_updated", Overlap: defaultOverlap, Ordered: true}, Custom: true,
			Doc: "Contacts updated since the bookmark. `/contact/` accepts no date filter and stops at Close's `max_skip`, so closesync " +
				"searches them (`POST /data/search/`, object type `contact`) with `date_updated` on or after the bookmark less the overlap, " +
				"sorted by it, asking in `_fields` for every column and every contact and shared custom field (at most 50 a search: the " +
				"fields past them are asked for by id, one search per 49 more, for each page); a walk is re-queried from " +
				"where it got to when its cursor expires or it nears the 10,000-object cap.",
			Table: deletedBy(withLead("contact"), customOf("contact", table("contacts", contactColumns,
				child("contacts_emails", "contact_id", "emails", str("email"), str("type"), boolean("is_unsubscribed")),
				child("contacts_phones", "contact_id", "phones", str("phone"), str("phone_formatted"), str("type"), str("country")),
				child("contacts_urls", "contact_id", "urls", str("url"), str("type")),
			))),
		},
		&Report{
			Name: "opportunities", History: true, Sources: src("/opportunity/"), Walk: Offset{PageSize: 250, Counts: true}, Method: Incremental, Weight: medium,
			Strategy: updatedSince, Custom: true,
			Export: &ExportSource{Path: "/export/opportunity/", Body: map[string]any{"format": "json", "send_done_email": false},
				CustomFields: map[string][]string{"": {"/custom_field/opportunity/", "/custom_field/shared/"}}},
			Doc:   "Opportunities updated since the bookmark (`date_updated__gte`), walked by `date_created`.",
			Table: deletedBy(withLead("opportunity"), customOf("opportunity", table("opportunities", opportunityColumns))),
		},
		&Report{
			Name: "tasks", History: true, Sources: src("/task/", "_type", "all"), Walk: Offset{PageSize: 1000}, Method: Incremental, Weight: light,
			Strategy: updatedSince,
			Doc:      "Tasks of every `_type` (the API returns only `lead` tasks unless asked for `_type=all`).",
			Table:    deletedBy(withLead("task.%"), table("tasks", taskColumns)),
		},
		&Report{
			Name: "users", Sources: src("/user/"), Walk: Offset{PageSize: 1000}, Method: Full, After: []Step{RefreshCustomViews},
			Doc: "Users of the organization. Each sync refreshes the `_custom` views, whose user fields show the user's name from here.",
			Table: table("users", []schema.Column{str("email"), str("first_name"), str("last_name"),
				{Name: "full_name", Type: schema.Text, Source: schema.FromJoin, Parts: []string{"first_name", "last_name"}}, str("image"),
				list("organizations"), str("last_used_timezone"), ts("date_created"), ts("date_updated"), ts("email_verified_at")}),
		},
		&Report{
			Name: "lead_statuses", Sources: src("/status/lead/"), Walk: Single{}, Method: Full,
			Doc:   "Lead statuses.",
			Table: table("lead_statuses", []schema.Column{str("label"), str("organization_id")}),
		},
		&Report{
			Name: "opportunity_statuses", Sources: src("/status/opportunity/"), Walk: Single{}, Method: Full,
			Doc: "Opportunity statuses with their pipeline.",
			Table: table("opportunity_statuses", []schema.Column{str("label"), str("type"), str("pipeline_id"),
				str("organization_id")}),
		},
		&Report{
			Name: "activities", Sources: src("/activity/"), Walk: Offset{PageSize: 100}, Method: Incremental, Weight: heaviest,
			Strategy: activityStrategy, Custom: true,
			Activity: AllActivities, After: []Step{RefetchEdited}, EditEvents: activityEvents,
			Doc: "Every activity type (Stitch's `activities`): created since the bookmark minus the attribution window " +
				"(`attribution_window`, default 24h), so calls and emails that change after creation are re-read.",
			Table: deletedBy(withLead(anyObject), customOf("activity", table("activities", activityBase))),
		},
		&Report{
			Name: "custom_fields", Walk: Offset{PageSize: fieldListPageSize}, Method: Full, After: []Step{RecordSchemaChanges, RefreshCustomViews},
			Sources: []Source{{Path: "/custom_field/lead/", Tag: "lead"}, {Path: "/custom_field/contact/", Tag: "contact"},
				{Path: "/custom_field/opportunity/", Tag: "opportunity"}, {Path: "/custom_field/activity/", Tag: "activity"},
				{Path: "/custom_field/custom_object_type/", Tag: "custom_object"}, {Path: "/custom_field/shared/", Tag: "shared"}},
			Doc: "Custom field definitions of leads, contacts, opportunities, activities, custom objects and shared fields; " +
				"`object_type` says which (`custom_object` for the fields of custom object types, with `custom_object_type_id`).",
			Table: table("custom_fields", cols([]schema.Column{tag("object_type"), str("name"), str("description"), str("type"),
				js("choices"), boolean("accepts_multiple_values"), boolean("is_shared"), str("custom_activity_type_id"),
				str("custom_object_type_id"), js("editable_with_roles")}, audit)),
		},
		&Report{
			Name: "event_log", Sources: src("/event/"), Walk: Cursor{PageSize: 50}, Method: Incremental, Weight: heaviest,
			Strategy: Strategy{Filter: ParamFilter, Field: "date_updated", Overlap: defaultOverlap, Lag: eventLag,
				Retention: eventRetention, Windowed: true, NewestFirst: true},
			After: []Step{ApplyEventDeletes, PurgeDeleted},
			Doc: "The event log (`/event/`, 30 days of history): every create, update, delete and merge. The bookmark stays " +
				"5 minutes behind now, as Close advises, because events become visible out of order.",
			Table: table("event_log", []schema.Column{ts("date_created"), ts("date_updated"), str("organization_id"), str("user_id"),
				str("request_id"), str("api_key_id"), str("object_type"), str("object_id"), str("lead_id"), str("action"),
				list("changed_fields"), js("data"), js("previous_data"), js("meta")}),
		},
	)
	for _, at := range activityTypes {
		doc := at.doc
		if doc == "" {
			doc = "Activities from `/activity/" + at.path + "/`, read like `activities`."
		}
		register(&Report{
			Name: "activities_" + at.report, Sources: src("/activity/" + at.path + "/"), Walk: Offset{PageSize: 100},
			Method: Incremental, Strategy: activityStrategy, Custom: true, Doc: doc, Weight: medium,
			Activity: at.typ, After: []Step{RefetchEdited}, EditEvents: activityEvents,
			Table: deletedBy(withLead(anyObject), customOf("activity", table("activities_"+at.report, cols(activityBase, at.extra)))),
		})
	}
}
