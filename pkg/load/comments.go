package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// commentTarget is a table and the comments closesync gives it and its
// columns (COMMENT ON), which BI tools and duckdb_tables() and
// duckdb_columns() show. Views get theirs as they are made (viewDef).
type commentTarget struct {
	schema, name string
	doc          string
	columns      map[string]string // column -> comment
}

// tableDocs returns the comments of t's columns: their catalog
// descriptions, the system columns' otherwise.
func tableDocs(t schema.Table) map[string]string {
	out := map[string]string{}
	for name, d := range schema.SystemColumnDocs {
		out[name] = d
	}
	for _, c := range t.Columns {
		if c.Description != "" {
			out[c.Name] = c.Description
		}
	}
	return out
}

// applyComments writes the target's comments where they differ from what
// the file holds (so a file written before comments gets them, and a
// second run writes nothing), in one transaction. A column the file has
// that the target does not describe keeps its comment.
func (s *Store) applyComments(ctx context.Context, c commentTarget) error {
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	rel := cat.table(c.schema, c.name)
	if rel == nil {
		return fmt.Errorf("comment on %s.%s: no such table", c.schema, c.name)
	}
	name := qualified(c.schema, c.name)
	var stmts []string
	if c.doc != "" && rel.comment != c.doc {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON TABLE %s IS %s", name, quoteString(c.doc)))
	}
	var stale []string
	for col, have := range rel.cols {
		if want := c.columns[col]; want != "" && want != have {
			stale = append(stale, col)
			stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, quoteIdent(col), quoteString(want)))
		}
	}
	if len(stmts) == 0 {
		return nil
	}
	// One transaction for them all: a commit each made a table of a few
	// hundred columns cost seconds.
	if err := s.inTx(ctx, func() error {
		for _, q := range stmts {
			if _, err := s.conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return fmt.Errorf("comment on %s.%s: %w", c.schema, c.name, err)
	}
	if c.doc != "" {
		rel.comment = c.doc
	}
	for _, col := range stale {
		rel.cols[col] = c.columns[col]
	}
	return nil
}

// syncDocs are the comments of the sync schema's tables.
var syncDocs = []commentTarget{
	{schema: "sync", name: "migrations", doc: "closesync's schema migrations applied to this file (sql/*.sql), one row each.",
		columns: map[string]string{"name": "File name of the migration.", "applied_at": "When it was applied (UTC)."}},
	{schema: "sync", name: "runs", doc: "One row per run of a report: when, by which job and account, how it ended and how many rows it moved.",
		columns: map[string]string{
			"run_id": "Run number, increasing; data rows' _run_id points here.", "job": "Job of the config that ran the report.",
			"report": "The report (table) synced.", "account": "Account of the config whose API key was used.",
			"trigger": "What started the run: schedule, manual, startup or retry.", "started_at": "When the run started (UTC).",
			"finished_at": "When the run ended (UTC); NULL while running.", "status": "running, success, failed or cancelled.",
			"rows_extracted": "Records read from Close.", "rows_upserted": "Rows written (inserted or updated).",
			"rows_deleted": "Rows marked deleted (or removed) by the run.", "requests": "HTTP requests made to Close.",
			"retries": "Requests retried (rate limits, server errors).", "error": "Why the run failed, if it did.",
			"organization_id": "Close organization the account's key belongs to (orga_...).",
		}},
	{schema: "sync", name: "state", doc: "One bookmark per account, organization and report: where the next incremental run starts.",
		columns: map[string]string{
			"account": "Account of the config.", "organization_id": "Close organization of the account ('' for bookmarks saved before closesync kept it).",
			"report": "The report.", "bookmark": "Where the next run resumes (a timestamp or cursor, as the report's strategy keeps it).",
			"run_id": "The sync.runs run that saved the bookmark.", "updated_at": "When it was saved (UTC).",
			"loaded_from": "Start of the range the report has loaded (the start_date of its first load, moved earlier by backfills).",
		}},
	{schema: "sync", name: "views", doc: "The views closesync made (child, live, _custom and starter views), so that a view is made again only when its definition changed.",
		columns: map[string]string{
			"schema_name": "Schema of the view.", "view_name": "Name of the view.",
			"fingerprint": "SHA-256 of the view's SQL and comments as closesync made them.",
			"definition":  "The SQL closesync ran to make the view.",
			"made_at":     "When closesync last made the view (UTC).",
		}},
	{schema: "sync", name: "schema_changes", doc: "Custom fields added, renamed, retyped or deleted in Close, and keys new to a table's _raw, one row per change, with the run that saw it.",
		columns: map[string]string{
			"change_id": "Change number, increasing.", "run_id": "The sync.runs run that saw the change (of custom_fields for a field's).",
			"seen_at": "When the run recorded it (UTC).", "organization_id": "Close organization whose field changed.",
			"object_type": "Close object type of the field: lead, contact, opportunity, activity, custom_object_type or shared; raw_key_added: the table.",
			"views":       "The <table>_custom views that show the field, comma-separated (empty for raw_key_added).",
			"change":      "field_added, field_renamed, field_retyped, field_deleted or raw_key_added.",
			"field_id":    "The custom field's id (cf_...); raw_key_added: the key.", "name": "The field's name now; a deleted field's last name; raw_key_added: the key.",
			"previous": "Renamed: the old name; retyped: the old type (with [] for several values); else NULL.",
			"current":  "Renamed: the new name; retyped: the new type; else NULL.",
		}},
	{schema: "sync", name: "custom_fields_seen", doc: "Each organization's custom field definitions as the _custom views show them (kept by the last run of custom_fields that followed Close); each run compares Close's with them.",
		columns: map[string]string{
			"organization_id": "Close organization of the field.", "id": "The custom field's id (cf_...).", "name": "Its name.",
			"type": "Its type, with [] when it accepts several values.", "object_type": "Close object type of the field.",
		}},
	{schema: "sync", name: "schema_baselines", doc: "The organizations whose custom field definitions have a baseline (their first run of custom_fields records no change), and which run kept it.",
		columns: map[string]string{
			"organization_id": "Close organization.", "subject": "What the baseline is of: custom_fields.",
			"run_id": "The sync.runs run whose definitions sync.custom_fields_seen holds.",
		}},
	{schema: "sync", name: "raw_keys", doc: "The top-level keys of _raw each table's records of an organization have carried (custom field keys aside); a key first seen after the table's first run is also a raw_key_added row of sync.schema_changes.",
		columns: map[string]string{
			"organization_id": "Close organization.", "table_name": "The data table whose _raw carries the key.",
			"key": "A top-level key of the records' JSON.", "run_id": "The sync.runs run that first saw it.",
			"first_seen": "When that run saw it (UTC).",
		}},
}

// commentSync comments the sync schema's tables.
func (s *Store) commentSync(ctx context.Context) error {
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	for _, c := range syncDocs {
		if cat.table(c.schema, c.name) == nil {
			continue // not before its migration
		}
		if err := s.applyComments(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// commentTable comments t (as stored: WithOrg); its child views are
// commented as they are made (ensureChildView).
func (s *Store) commentTable(ctx context.Context, t schema.Table) error {
	return s.applyComments(ctx, commentTarget{schema: s.schema, name: t.Name, doc: t.Description, columns: tableDocs(t)})
}

// childDoc is the comment of parent's child view ch.
func childDoc(parent schema.Table, ch schema.Child) string {
	if ch.Table.Description != "" {
		return ch.Table.Description
	}
	return "Items of " + parent.Name + "." + ch.Field + ", one row each: a view over " + parent.Name + "._raw."
}

// customFieldDoc is the comment of a custom view's column.
func customFieldDoc(c *viewColumn) string {
	f := c.fields[0]
	typ := f.typ
	if f.multi {
		typ += ", several values (JSON list)"
	}
	var ids []string
	for _, g := range c.fields {
		ids = append(ids, g.id)
	}
	if c.user != nil {
		return fmt.Sprintf("Full name of the user (users.first_name and last_name) the custom field %q (%s) holds, looked up in the users table of the same organization.", f.name, strings.Join(ids, ", "))
	}
	doc := fmt.Sprintf("Custom field %q (%s; type %s), typed from the custom column.", f.name, strings.Join(ids, ", "), typ)
	if f.description != "" {
		doc += " " + f.description
	}
	return doc
}
