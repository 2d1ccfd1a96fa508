package extract

// Step is work the run pipeline does for a report besides loading its
// records. A report declares its steps (Report.After); the pipeline runs
// them in order after a successful load and knows no report by name.
type Step string

// Steps.
const (
	// RefetchEdited re-reads the records the stored event log reports
	// edited after they left the report's attribution window (activities:
	// an edit to a week-old call).
	RefetchEdited Step = "refetch_edited"
	// ApplyEventDeletes soft-deletes (and cascades) the rows whose deletion
	// events the run stored: the event log's deletes and merges, by the
	// DeleteRule every report declares.
	ApplyEventDeletes Step = "apply_event_deletes"
	// PurgeDeleted removes soft-deleted rows when the job keeps no deleted
	// rows (deletes: hard), after the deletes are applied.
	PurgeDeleted Step = "purge_deleted"
	// RefreshCustomViews rebuilds the <table>_custom views: after custom
	// field definitions change, or a table with custom values gains rows.
	RefreshCustomViews Step = "refresh_custom_views"
	// RecordSchemaChanges records in sync.schema_changes each custom field
	// added, renamed, retyped or deleted since the last run of the
	// definitions' report (custom_fields), before its views follow.
	RecordSchemaChanges Step = "record_schema_changes"
)

// Declaring returns the reports that declare step s, sorted by name.
func Declaring(s Step) []*Report {
	var out []*Report
	for _, r := range Catalog() {
		if r.Has(s) {
			out = append(out, r)
		}
	}
	return out
}

// Has reports whether the report declares step s.
func (r *Report) Has(s Step) bool {
	for _, x := range r.After {
		if x == s {
			return true
		}
	}
	return false
}
