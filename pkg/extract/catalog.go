package extract

import (
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Method is how a report is replicated.
type Method string

// Replication methods.
const (
	// Full lists everything each run and replaces the table atomically, so
	// rows deleted in Close disappear. For small dimension reports.
	Full Method = "full"
	// Incremental reads what changed since the bookmark (see Incremental).
	Incremental Method = "incremental"
	// FullUpsert lists everything each run (the endpoint has no usable
	// filter) and upserts it.
	FullUpsert Method = "full_upsert"
	// Child reports are written with their parent.
	Child Method = "child"
)

// Filter is how an incremental report asks the API for changes.
type Filter string

// Filters.
const (
	// ParamFilter sends <Field>__gte=<bookmark>.
	ParamFilter Filter = "param"
	// LeadQuery sends the legacy lead search query
	// `date_updated >= "YYYY-MM-DDTHH:MM" sort:created` (minute precision).
	LeadQuery Filter = "lead_query"
)

// Strategy configures an incremental report.
type Strategy struct {
	Filter Filter
	// Field is the record field compared with the bookmark (date_updated or
	// date_created).
	Field string
	// OrderBy is sent as _order_by; an immutable field keeps offset walks
	// stable while rows are updated.
	OrderBy string
	// Overlap is subtracted from the bookmark to re-read the edge: clock
	// skew, minute-precision filters and late index updates.
	Overlap time.Duration
	// Ordered reports that the walk is in ascending Field order, so the
	// bookmark may advance with every batch.
	Ordered bool
	// NewestFirst reports that the walk is in descending Field order (the
	// event log), which lets a window of it be split as it runs
	// (walk_split.go); the bookmark still waits for the walk's end.
	NewestFirst bool
	// Window is the default attribution window (activities: 24h), re-read on
	// every run to catch records still changing after creation.
	Window time.Duration
	// Lag holds the bookmark this far behind now (event log: 5 minutes).
	Lag time.Duration
	// Retention is how far back the source keeps records (the event log:
	// 30 days), where a long walk is split into windows (walk_split.go).
	Retention time.Duration
	// Windowed lets a long walk be split into Field windows read at once
	// (walk_split.go): the Field filter takes __gte and __lt together.
	Windowed bool
	// Keyset is the immutable field the walk is sorted by and can restart
	// from (date_created): offset walks are restarted from the last value
	// seen before _skip nears the resource's max_skip. Empty: plain offset.
	Keyset string
}

// Source is one endpoint a report reads. Most reports have one; custom_fields
// reads one per object type, tagging each record. Path and parameter values
// may name {organization_id} or {user_id}: the job's setting, else the ids
// of the API key's user and first organization from /me/.
type Source struct {
	Path   string
	Params url.Values
	// Tag is stored in the table's FromTag column for records of this source.
	Tag string
}

// Report is one entry of the catalog.
type Report struct {
	Name    string
	Sources []Source
	// Walk is how the report's sources are read: the paging style, with
	// its page size (Offset, Cursor, Search, Daily, Single, Object).
	Walk Walker
	// Export, when set, reads a large first run through Close's Export
	// API instead of Walk (see ExportSource, Request.ExportAbove).
	Export   *ExportSource
	Method   Method
	Strategy Strategy
	Table    schema.Table
	// History is whether the report keeps every version of its rows in
	// <table>_versions by default (a report's history option decides).
	History bool
	// Custom collects the flat "custom.cf_*" keys into the custom column.
	Custom bool
	// Parent names the report whose records carry this child table.
	Parent string
	// DefaultMode is the write mode when the job does not set one.
	DefaultMode schema.WriteMode
	Doc         string
	// MayBeEmpty documents a report that can rightly have no rows.
	MayBeEmpty bool
	// Weight is how many requests a first sync of the report takes, in
	// rough relative terms (0: a page or a few). A job starts its heaviest
	// reports first, so that its longest walks are not the last to start.
	Weight int
	// Activity is the _type of the activities the report holds (Call,
	// Email ...), AllActivities for the report of every type, "" when it
	// holds no activities.
	Activity string
	// EditEvents is the object_type (a LIKE pattern) of the stored event
	// log's "updated" events that name edits of this report's records, for
	// RefetchEdited ("activity%" for the activity reports).
	EditEvents string
	// After lists the steps the pipeline runs for this report besides
	// loading it (see Step); register adds RefreshCustomViews to every
	// report with Custom.
	After []Step
}

// Endpoint describes where the report's data comes from, for humans.
func (r *Report) Endpoint() string {
	if r.Parent != "" {
		return ""
	}
	if len(r.Sources) == 1 {
		s := r.Sources[0].Path
		if len(r.Sources[0].Params) > 0 {
			s += "?" + r.Sources[0].Params.Encode()
		}
		return s
	}
	var out string
	for i, s := range r.Sources {
		if i > 0 {
			out += " "
		}
		out += s.Path
	}
	return out
}

// ReplicationKey is the field incremental reads compare with the bookmark.
func (r *Report) ReplicationKey() string {
	if r.Method == Incremental {
		return r.Strategy.Field
	}
	return ""
}

var catalog = map[string]*Report{}

func register(reports ...*Report) {
	for _, r := range reports {
		if _, dup := catalog[r.Name]; dup {
			panic("extract: report registered twice: " + r.Name)
		}
		if r.DefaultMode == "" {
			r.DefaultMode = schema.Upsert
			if r.Method == Full {
				r.DefaultMode = schema.Replace
			}
		}
		if r.Has(RefetchEdited) && r.EditEvents == "" {
			panic("extract: report " + r.Name + " declares RefetchEdited without EditEvents")
		}
		if r.Custom && !r.Has(RefreshCustomViews) {
			r.After = append(r.After, RefreshCustomViews)
		}
		r.Table = describe(r.Table, r.Doc)
		catalog[r.Name] = r
		r.Table.Children = slices.Clone(r.Table.Children)
		for i, ch := range r.Table.Children {
			doc := "The `" + ch.Field + "` array of each " + r.Name + " record, one row per item: a view over " + r.Name + "'s `_raw`, so it changes with its parent row. Syncing it syncs " + r.Name + "."
			if ch.Optional {
				doc += " Close may not send this field at all (it is absent from the public API's responses seen so far); the table is then empty, which is not an error."
			}
			ch.Table = describe(ch.Table, doc)
			r.Table.Children[i] = ch
			catalog[ch.Table.Name] = &Report{
				Name:        ch.Table.Name,
				Method:      Child,
				Parent:      r.Name,
				Table:       ch.Table,
				DefaultMode: r.DefaultMode,
				Doc:         doc,
				MayBeEmpty:  ch.Optional,
			}
		}
	}
}

// Lookup returns the named report.
func Lookup(name string) (*Report, bool) {
	r, ok := catalog[name]
	return r, ok
}

// Names returns every report name, sorted.
func Names() []string {
	names := make([]string, 0, len(catalog))
	for n := range catalog {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Catalog returns every report, sorted by name.
func Catalog() []*Report {
	out := make([]*Report, 0, len(catalog))
	for _, n := range Names() {
		out = append(out, catalog[n])
	}
	return out
}

// Root returns the report that is actually extracted for r: r itself, or its
// parent for a child report.
func Root(r *Report) *Report {
	if r.Parent != "" {
		return catalog[r.Parent]
	}
	return r
}

// Children returns the names of r's child reports.
func (r *Report) Children() []string {
	var out []string
	for _, ch := range r.Table.Children {
		out = append(out, ch.Table.Name)
	}
	return slices.Clip(out)
}

// CustomFieldsReport is the report whose table holds the custom field
// definitions that the <table>_custom views are built from.
const CustomFieldsReport = "custom_fields"

// DeletableTables are the tables that declare which events delete their
// rows (schema.Table.Deletes), sorted by report name.
func DeletableTables() []schema.Table {
	var out []schema.Table
	for _, r := range Catalog() {
		if r.Table.Deletes != nil {
			out = append(out, r.Table)
		}
	}
	return out
}

// CustomViewTables are the tables that declare custom field types
// (schema.Table.CustomFieldTypes), sorted by report name.
func CustomViewTables() []schema.Table {
	var out []schema.Table
	for _, r := range Catalog() {
		if len(r.Table.CustomFieldTypes) > 0 {
			out = append(out, r.Table)
		}
	}
	return out
}
