package load

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/closesync/closesync/pkg/schema"
)

// Batch is a unit of work committed in one transaction.
type Batch struct {
	Records []schema.Record
	// Bookmark, when set, becomes the report's state in the same
	// transaction as the records: the next run resumes from it.
	Bookmark schema.Bookmark
	// Changes, when set, receives the keys of the rows the batch created
	// and updated (tables with a one-column key; not in Replace mode).
	Changes *Changes
	// History, in upsert mode, also keeps each record that is a new
	// version of its row in the table's versions table (history.go),
	// closing the version it replaces; EnsureVersions has made it.
	History bool
}

// Changes are the keys of rows a batch created and updated, for change
// notifications. They are filled only when the batch commits.
type Changes struct {
	Created, Updated []string
}

// Run identifies the run a batch belongs to.
type Run struct {
	ID      int64
	Account string
	// Org is the Close organization the rows come from: they carry it in
	// organization_id, and replace, deletes and reconcile touch only its
	// rows.
	Org string
	// Report is the state key: one bookmark per (Account, Org, Report).
	Report string
}

// Counters are the run's totals so far, written with every batch.
type Counters struct {
	Requests, Retries int64
}

// stageDDL is the per-batch staging table the appender fills. It is
// created anew for each batch, and dropped with _typed when the batch is
// written: DuckDB never reclaims the rows deleted from a temporary
// table (it has no checkpoint), so a staging table emptied by DELETE kept
// every batch's JSON in memory until the connection closed.
const stageDDL = `CREATE OR REPLACE TEMP TABLE _stage (
    _seq INTEGER, _raw VARCHAR, _custom VARCHAR, _tag VARCHAR, _parent VARCHAR, _pos INTEGER)`

// Apply writes a batch into table t in one transaction (its child tables
// are views over its _raw, so they change with it),
// together with the run's counters and the report's bookmark. It returns the
// number of rows written: records that lost to a newer stored version and
// duplicates within the batch are not counted. In Replace mode the rows go
// to the table's shadow, started by StartReplace and swapped in by
// FinishReplace.
func (s *Store) Apply(ctx context.Context, run Run, t schema.Table, mode schema.WriteMode, b Batch, c Counters) (int64, error) {
	t = t.WithOrg()
	s.mu.Lock()
	defer s.mu.Unlock()
	var written int64
	err := s.inTx(ctx, func() error {
		var ch Changes
		var collect *Changes
		if b.Changes != nil && len(t.IDKey()) == 1 && mode != schema.Replace {
			collect = &ch
		}
		n, err := s.writeBatch(ctx, t, mode, b.Records, run, collect, b.History && mode == schema.Upsert)
		if err != nil {
			return err
		}
		written = n
		if !b.Bookmark.IsZero() {
			if err := s.putBookmark(ctx, run, b.Bookmark); err != nil {
				return err
			}
		}
		upserted := n
		if mode == schema.Replace {
			upserted = 0 // counted by FinishReplace, once swapped in
		}
		_, err = s.conn.ExecContext(ctx, `UPDATE sync.runs SET rows_extracted = rows_extracted + ?,
			rows_upserted = rows_upserted + ?, requests = ?, retries = ? WHERE run_id = ?`,
			int64(len(b.Records)), upserted, c.Requests, c.Retries, run.ID)
		if err != nil {
			return fmt.Errorf("update run %d: %w", run.ID, err)
		}
		if collect != nil {
			b.Changes.Created = append(b.Changes.Created, ch.Created...)
			b.Changes.Updated = append(b.Changes.Updated, ch.Updated...)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("write %s batch of %d: %w%s", t.Name, len(b.Records), err, s.oomHint(err))
	}
	return written, nil
}

func (s *Store) writeBatch(ctx context.Context, t schema.Table, mode schema.WriteMode, recs []schema.Record, run Run, changes *Changes, history bool) (int64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if _, err := s.conn.ExecContext(ctx, stageDDL); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	if err := s.appendStage(recs); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	target := qualified(s.schema, t.Name)
	if mode == schema.Replace {
		target = shadowName(s.schema, t.Name, run.Org)
	}
	typed := dedupeSQL(t, typedSelectSQL(withoutChildren(t), stageSourceSQL(run.Org)))
	if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE _typed AS "+typed); err != nil {
		return 0, fmt.Errorf("type records: %w", err)
	}
	if err := s.checkKeys(ctx, t); err != nil {
		return 0, err
	}
	if err := s.recordRawKeys(ctx, t.Name, run); err != nil {
		return 0, err
	}
	// Never replace a row with an older version of it; in append mode, never
	// store the same version twice.
	switch {
	case mode == schema.Append && t.Order != "":
		q := fmt.Sprintf("DELETE FROM _typed WHERE EXISTS (SELECT 1 FROM %s t WHERE %s AND t.%s IS NOT DISTINCT FROM _typed.%s)",
			target, keyMatch(t, "t", "_typed"), quoteIdent(t.Order), quoteIdent(t.Order))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("skip stored versions: %w", err)
		}
	case mode != schema.Append && t.Order != "":
		q := fmt.Sprintf("DELETE FROM _typed WHERE EXISTS (SELECT 1 FROM %s t WHERE %s AND t.%s > _typed.%s)",
			target, keyMatch(t, "t", "_typed"), quoteIdent(t.Order), quoteIdent(t.Order))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("skip older versions: %w", err)
		}
	}
	if changes != nil {
		if err := s.collectChanges(ctx, target, t, changes); err != nil {
			return 0, err
		}
	}
	if history {
		if err := s.keepVersions(ctx, t, run); err != nil {
			return 0, err
		}
	}
	if mode != schema.Append {
		if _, err := s.conn.ExecContext(ctx, replaceStoredSQL(target, t, "_typed")); err != nil {
			return 0, fmt.Errorf("replace stored versions: %w", err)
		}
	}
	res, err := s.conn.ExecContext(ctx, insertSQL(target, t, "_typed", false), run.ID)
	if err != nil {
		return 0, fmt.Errorf("upsert into %s: %w", target, err)
	}
	n, _ := res.RowsAffected()
	for _, tmp := range batchTemps {
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+tmp); err != nil {
			return 0, fmt.Errorf("drop %s: %w", tmp, err)
		}
	}
	return n, nil
}

// batchTemps are the temporary tables of one batch, dropped once it is
// written so that their memory is freed when it commits.
var batchTemps = []string{"_typed", "_stage"}

// checkKeys fails the batch when a record lacks its key: an API response of
// an unexpected shape must not silently vanish.
func (s *Store) checkKeys(ctx context.Context, t schema.Table) error {
	key := t.IDKey() // organization_id is the run's, never missing
	conds := make([]string, len(key))
	for i, k := range key {
		conds[i] = quoteIdent(k) + " IS NULL"
	}
	var n int64
	var sample *string
	q := fmt.Sprintf("SELECT count(*), any_value(left(%s::VARCHAR, 300)) FROM _typed WHERE %s",
		quoteIdent(schema.ColRaw), strings.Join(conds, " OR "))
	if err := s.conn.QueryRowContext(ctx, q).Scan(&n, &sample); err != nil {
		return fmt.Errorf("check keys: %w", err)
	}
	if n > 0 {
		ex := ""
		if sample != nil {
			ex = *sample
		}
		return fmt.Errorf("%d record(s) without key %s, e.g. %s", n, strings.Join(key, ", "), ex)
	}
	return nil
}

// appendStage fills _stage with the batch through the DuckDB appender.
func (s *Store) appendStage(recs []schema.Record) error {
	return s.appendRows("_stage", func(a *duckdb.Appender) error {
		for i, r := range recs {
			var custom, tag driver.Value
			if r.Custom != nil {
				custom = string(r.Custom)
			}
			if r.Tag != "" {
				tag = r.Tag
			}
			if err := a.AppendRow(int32(i), string(r.Raw), custom, tag, nil, nil); err != nil {
				return fmt.Errorf("record %d: %w", i, err)
			}
		}
		return nil
	})
}

// appendRows fills the temporary table with DuckDB's appender; the rows
// land when fill returns nil, and none when it fails.
func (s *Store) appendRows(table string, fill func(a *duckdb.Appender) error) error {
	return s.conn.Raw(func(dc any) error {
		dconn, ok := dc.(driver.Conn)
		if !ok {
			return errors.New("unexpected driver connection type")
		}
		a, err := duckdb.NewAppenderFromConn(dconn, "", table)
		if err != nil {
			return err
		}
		if err := fill(a); err != nil {
			return errors.Join(err, a.Close())
		}
		return a.Close()
	})
}

// putBookmark saves the report's bookmark for (account, organization). A
// bookmark from before closesync kept one per organization (empty
// organization_id) is the account's old one: it goes once the account has its own.
func (s *Store) putBookmark(ctx context.Context, run Run, bookmark schema.Bookmark) error {
	_, err := s.conn.ExecContext(ctx, `INSERT INTO sync.state (account, organization_id, report, bookmark, run_id, updated_at)
		VALUES (?, ?, ?, ?, ?, now())
		ON CONFLICT (account, organization_id, report) DO UPDATE SET bookmark = EXCLUDED.bookmark, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at`,
		run.Account, run.Org, run.Report, bookmark.String(), run.ID)
	if err == nil && run.Org != "" {
		_, err = s.conn.ExecContext(ctx, "DELETE FROM sync.state WHERE account = ? AND report = ? AND organization_id = ''", run.Account, run.Report)
	}
	if err != nil {
		return fmt.Errorf("save bookmark: %w", err)
	}
	return nil
}

// shadowName is where Replace mode builds a table of one organization
// before swapping it in; two organizations' replaces never share one.
func shadowName(schemaName, table, org string) string {
	name := "_replace_" + schemaName + "_" + table
	if org != "" {
		name += "_" + org
	}
	return qualified("sync", name)
}

// StartReplace creates an empty shadow table of t for the organization
// org, dropping any left by an interrupted run (with those of its children,
// which had shadows of their own before they became views).
func (s *Store) StartReplace(ctx context.Context, t schema.Table, org string) error {
	t = t.WithOrg()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tt := range withChildren(t) {
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+shadowName(s.schema, tt.Name, org)); err != nil {
			return fmt.Errorf("start replace of %s: %w", tt.Name, err)
		}
	}
	shadow := shadowName(s.schema, t.Name, org)
	ddl := strings.Replace(createTableSQL(s.schema, t, true), qualified(s.schema, t.Name), shadow, 1)
	if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
		return fmt.Errorf("start replace of %s: %w", t.Name, err)
	}
	return nil
}

// FinishReplace swaps the shadow contents into t in one transaction (its
// child views show the new rows' items at once) and drops the shadow: the rows of the run's organization are
// replaced, other organizations' rows stay. It returns the number of live
// rows that disappeared (deleted at the source). The run's rows_upserted
// counts the rows swapped in: until then (and if the swap never happens) a
// replace has written nothing.
func (s *Store) FinishReplace(ctx context.Context, run Run, t schema.Table) (int64, error) {
	t = t.WithOrg()
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed int64
	err := s.inTx(ctx, func() error {
		q := fmt.Sprintf("SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s n WHERE %s)",
			qualified(s.schema, t.Name), orgIs("t", run.Org), shadowName(s.schema, t.Name, run.Org), keyMatch(t, "t", "n"))
		if err := s.conn.QueryRowContext(ctx, q).Scan(&removed); err != nil {
			return err
		}
		var swapped int64
		if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+shadowName(s.schema, t.Name, run.Org)).Scan(&swapped); err != nil {
			return err
		}
		target, shadow := qualified(s.schema, t.Name), shadowName(s.schema, t.Name, run.Org)
		if _, err := s.conn.ExecContext(ctx, "DELETE FROM "+target+" WHERE "+orgIs("", run.Org)); err != nil {
			return err
		}
		cols := identList(storedColumns(t))
		if _, err := s.conn.ExecContext(ctx, "INSERT INTO "+target+" ("+cols+") SELECT "+cols+" FROM "+shadow); err != nil {
			return err
		}
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE "+shadow); err != nil {
			return err
		}
		_, err := s.conn.ExecContext(ctx, "UPDATE sync.runs SET rows_deleted = rows_deleted + ?, rows_upserted = rows_upserted + ? WHERE run_id = ?",
			removed, swapped, run.ID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("swap in %s: %w", t.Name, err)
	}
	return removed, nil
}

func withChildren(t schema.Table) []schema.Table {
	out := []schema.Table{t}
	for _, ch := range t.Children {
		out = append(out, ch.Table)
	}
	return out
}

// collectChanges sorts the keys about to be written into created (not yet
// stored) and updated.
func (s *Store) collectChanges(ctx context.Context, target string, t schema.Table, ch *Changes) error {
	key := quoteIdent(t.IDKey()[0])
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(%s AS VARCHAR), EXISTS (SELECT 1 FROM %s t WHERE %s)
		FROM _typed ORDER BY 1`, key, target, keyMatch(t, "t", "_typed")))
	if err != nil {
		return fmt.Errorf("collect changed keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var stored bool
		if err := rows.Scan(&k, &stored); err != nil {
			return fmt.Errorf("collect changed keys: %w", err)
		}
		if stored {
			ch.Updated = append(ch.Updated, k)
		} else {
			ch.Created = append(ch.Created, k)
		}
	}
	return rows.Err()
}
