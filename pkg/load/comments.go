package load

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// commentTarget is a table or view and the comments closesync gives it and
// its columns (COMMENT ON), which BI tools and duckdb_tables(),
// duckdb_views() and duckdb_columns() show.
type commentTarget struct {
	schema, name string
	view         bool
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
// second run writes nothing). A column the file has that the target does
// not describe keeps its comment.
func (s *Store) applyComments(ctx context.Context, c commentTarget) error {
	kind, list := "TABLE", "duckdb_tables() WHERE table_name = ?"
	if c.view {
		kind, list = "VIEW", "duckdb_views() WHERE view_name = ?"
	}
	name := qualified(c.schema, c.name)
	var cur sql.NullString
	err := s.conn.QueryRowContext(ctx, "SELECT comment FROM "+list+" AND schema_name = ? AND database_name = current_database()",
		c.name, c.schema).Scan(&cur)
	if err != nil {
		return fmt.Errorf("read the comment of %s.%s: %w", c.schema, c.name, err)
	}
	var stmts []string
	if c.doc != "" && cur.String != c.doc {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON %s %s IS %s", kind, name, quoteString(c.doc)))
	}
	stale, err := s.staleColumnComments(ctx, c)
	if err != nil {
		return err
	}
	for _, sc := range stale {
		stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, quoteIdent(sc[0]), quoteString(sc[1])))
	}
	if len(stmts) == 0 {
		return nil
	}
	// One transaction for them all: a commit each made a view of a few
	// hundred custom fields cost seconds.
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
	return nil
}

// staleColumnComments returns the target's columns whose comment in the
// file is not the one closesync gives them, with that comment.
func (s *Store) staleColumnComments(ctx context.Context, c commentTarget) ([][2]string, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, coalesce(comment, '') FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, c.schema, c.name)
	if err != nil {
		return nil, fmt.Errorf("read the column comments of %s.%s: %w", c.schema, c.name, err)
	}
	defer rows.Close()
	var stale [][2]string
	for rows.Next() {
		var col, have string
		if err := rows.Scan(&col, &have); err != nil {
			return nil, err
		}
		if want := c.columns[col]; want != "" && want != have {
			stale = append(stale, [2]string{col, want})
		}
	}
	return stale, rows.Err()
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
}

// commentSync comments the sync schema's tables.
func (s *Store) commentSync(ctx context.Context) error {
	for _, c := range syncDocs {
		if err := s.applyComments(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// commentTable comments t (as stored: WithOrg) and its child views.
func (s *Store) commentTable(ctx context.Context, t schema.Table) error {
	if err := s.applyComments(ctx, commentTarget{schema: s.schema, name: t.Name, doc: t.Description, columns: tableDocs(t)}); err != nil {
		return err
	}
	for _, ch := range t.Children {
		doc := ch.Table.Description
		if doc == "" {
			doc = "Items of " + t.Name + "." + ch.Field + ", one row each: a view over " + t.Name + "._raw."
		}
		if err := s.applyComments(ctx, commentTarget{schema: s.schema, name: ch.Table.Name, view: true, doc: doc,
			columns: tableDocs(ch.Table)}); err != nil {
			return err
		}
	}
	return nil
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
