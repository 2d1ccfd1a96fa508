package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// History (SCD type 2). A report with history keeps, beside its table of
// one row per id, the table <table>_versions: a row for every version of
// an object the syncs have seen, with the typed columns of that version
// and valid_from (its date_updated) and valid_to (the next version's
// date_updated, or when it was deleted; NULL while it is current). A batch
// adds the records that are newer than the row's newest version and closes
// the version they follow, in the same transaction as the upsert, so a
// re-read (overlap, attribution window, a kill and a retry) adds nothing;
// a delete closes the open version. <table>_as_of(ts) is a table macro of
// the versions valid at ts. _raw is not kept: the typed columns (and
// custom) of each version are.

// Columns of a versions table besides the table's own.
const (
	ColValidFrom = "valid_from"
	ColValidTo   = "valid_to"
)

// VersionsTable is the name of t's versions table.
func VersionsTable(t schema.Table) string { return t.Name + "_versions" }

// AsOfMacro is the name of t's table macro of the versions valid at a time.
func AsOfMacro(t schema.Table) string { return t.Name + "_as_of" }

// HistoryProblem says why t cannot keep history, or "" when it can: it
// needs a key and a timestamp column ordering its versions (t.Order).
func HistoryProblem(t schema.Table) string {
	if len(t.Key) == 0 {
		return "its table has no key"
	}
	c, ok := t.Column(t.Order)
	if t.Order == "" || !ok || c.Type != schema.Timestamp {
		return "its records carry no date_updated to order their versions"
	}
	return ""
}

// versionColumns are the stored columns of t's versions table, in order.
func versionColumns(t schema.Table) []string {
	return append(columnNames(t), ColValidFrom, ColValidTo, schema.ColRunID, schema.ColSyncedAt)
}

// EnsureVersions creates t's versions table and its as-of macro when they
// do not exist. A new versions table starts with the table's live rows as
// their first versions, so that turning history on for a table synced
// before loses nothing of what is stored.
func (s *Store) EnsureVersions(ctx context.Context, t schema.Table) error {
	if msg := HistoryProblem(t); msg != "" {
		return fmt.Errorf("history of %s: %s", t.Name, msg)
	}
	t = withoutChildren(t.WithOrg())
	s.mu.Lock()
	defer s.mu.Unlock()
	name := VersionsTable(t)
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	if cat.table(s.schema, name) != nil {
		return nil
	}
	order, _ := t.Column(t.Order)
	target := qualified(s.schema, name)
	err = s.inTx(ctx, func() error {
		var b strings.Builder
		fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", target)
		for _, c := range t.Columns {
			fmt.Fprintf(&b, "    %s %s,\n", quoteIdent(c.Name), duckType(c.Type))
		}
		fmt.Fprintf(&b, "    %s %s, %s %s, %s BIGINT, %s TIMESTAMPTZ)", quoteIdent(ColValidFrom), duckType(order.Type),
			quoteIdent(ColValidTo), duckType(order.Type), quoteIdent(schema.ColRunID), quoteIdent(schema.ColSyncedAt))
		cols := columnNames(t)
		stmts := []string{
			b.String(),
			fmt.Sprintf("INSERT INTO %s (%s) SELECT %s, %s, NULL, %s, %s FROM %s WHERE %s IS NULL AND %s IS NOT NULL",
				target, identList(versionColumns(t)), identList(cols), quoteIdent(t.Order), quoteIdent(schema.ColRunID),
				quoteIdent(schema.ColSyncedAt), qualified(s.schema, t.Name), quoteIdent(schema.ColDeleted), quoteIdent(t.Order)),
			fmt.Sprintf(`CREATE OR REPLACE MACRO %s(as_of) AS TABLE SELECT * EXCLUDE (%s, %s) FROM %s
				WHERE %s <= as_of AND (%s IS NULL OR %s > as_of)`, qualified(s.schema, AsOfMacro(t)),
				quoteIdent(schema.ColRunID), quoteIdent(schema.ColSyncedAt), target,
				quoteIdent(ColValidFrom), quoteIdent(ColValidTo), quoteIdent(ColValidTo)),
		}
		for _, q := range stmts {
			if _, err := s.conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create the history of %s: %w", t.Name, err)
	}
	cat.addTable(s.schema, name, versionColumns(t), nil)
	docs := tableDocs(t)
	docs[ColValidFrom] = "When this version became current: its " + t.Order + "."
	docs[ColValidTo] = "When the next version became current, or when the object was deleted; NULL while this one is current."
	return s.applyComments(ctx, commentTarget{schema: s.schema, name: name, columns: docs, doc: fmt.Sprintf(
		"Every version of the rows of %s that the syncs have seen (history), one row per (id, %s): "+
			"valid_from is the version's %s, valid_to the next version's or when the object was deleted (NULL: current). "+
			"%s(ts) gives the versions valid at ts.", t.Name, t.Order, t.Order, AsOfMacro(t))})
}

// keepVersions adds the batch's new versions (the rows of _typed newer
// than their row's newest version) to t's versions table and closes the
// versions they follow. It runs in the batch's transaction, before the
// upsert.
func (s *Store) keepVersions(ctx context.Context, t schema.Table, run Run) error {
	target := qualified(s.schema, VersionsTable(t))
	order := quoteIdent(t.Order)
	cols := columnNames(withoutChildren(t))
	closePrevious := fmt.Sprintf(`UPDATE %[1]s SET %[2]s = _typed.%[3]s FROM _typed
		WHERE %[4]s AND %[1]s.%[2]s IS NULL AND %[1]s.%[5]s < _typed.%[3]s`,
		target, quoteIdent(ColValidTo), order, keyMatch(t, target, "_typed"), quoteIdent(ColValidFrom))
	addNew := fmt.Sprintf(`INSERT INTO %[1]s (%[2]s) SELECT %[3]s, %[4]s, NULL, $1, now() FROM _typed
		WHERE %[4]s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %[1]s v WHERE %[5]s AND v.%[6]s >= _typed.%[4]s)`,
		target, identList(versionColumns(withoutChildren(t))), identList(cols), order, keyMatch(t, "v", "_typed"), quoteIdent(ColValidFrom))
	if _, err := s.conn.ExecContext(ctx, closePrevious); err != nil {
		return fmt.Errorf("keep the versions of %s: %w", t.Name, err)
	}
	if _, err := s.conn.ExecContext(ctx, addNew, run.ID); err != nil {
		return fmt.Errorf("keep the versions of %s: %w", t.Name, err)
	}
	return nil
}

// closeDeletedVersions closes the open version of every row of t that is
// marked deleted, at its _deleted_at (never before the version began).
// existing lists the data schema's tables; a table without history is
// left alone.
func (s *Store) closeDeletedVersions(ctx context.Context, t schema.Table, existing map[string]bool) error {
	if !existing[VersionsTable(t)] {
		return nil
	}
	target, main := qualified(s.schema, VersionsTable(t)), qualified(s.schema, t.Name)
	q := fmt.Sprintf(`UPDATE %[1]s SET %[2]s = greatest(m.%[3]s, %[1]s.%[4]s) FROM %[5]s m
		WHERE %[6]s AND m.%[3]s IS NOT NULL AND %[1]s.%[2]s IS NULL`,
		target, quoteIdent(ColValidTo), quoteIdent(schema.ColDeleted), quoteIdent(ColValidFrom), main, keyMatch(t, target, "m"))
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("close the versions of the deleted rows of %s: %w", t.Name, err)
	}
	return nil
}
