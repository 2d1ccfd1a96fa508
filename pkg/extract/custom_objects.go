package extract

import (
	"github.com/closesync/closesync/pkg/schema"
)

// customObjects are the instances of Close's Custom Object Types. Close
// lists them with GET /custom_object/ only for one lead at a time (lead_id
// is required), which would cost a request per lead every run; across leads
// they are reachable only through Advanced Filtering, which Close's docs
// point to for exactly this and Airbyte's connector uses.
var customObjects = &Report{
	Name: "custom_objects", Sources: src("/data/search/", "object_type", "custom_object"), Walk: Search{CustomTypes: "/custom_object_type/"},
	Method:   Incremental,
	Strategy: Strategy{Field: "date_updated", Overlap: defaultOverlap, Ordered: true},
	Custom:   true, MayBeEmpty: true,
	Doc: "Instances of custom object types. `GET /custom_object/` requires a `lead_id`, so listing them lead by lead would cost a " +
		"request per lead each run; instead closesync searches them with Advanced Filtering (`POST /data/search/`, object type " +
		"`custom_object`), updated since the bookmark, sorted by `date_updated`, asking in `_fields` for the typed columns and every " +
		"custom field its type lists in `/custom_object_type/` (their values land in `custom`; past 50 fields a search, the rest " +
		"are asked for by id, page by page). A walk is re-queried from where it got to when " +
		"its 30-second cursor expires or it reaches the 10,000-object cap. Empty when the organization has no custom object types.",
	Table: deletedBy(withLead("custom_object"), customOf("custom_object", table("custom_objects", []schema.Column{str("custom_object_type_id"),
		str("lead_id"), str("name"), str("organization_id"), str("created_by"), str("updated_by"), ts("date_created"), ts("date_updated"),
		custom()}))),
}

func init() { register(customObjects) }
