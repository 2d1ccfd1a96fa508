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

// Mode is how a report's rows are written (Domo's update options).
type Mode string

// Modes.
const (
	// Upsert keeps one row per key, the newest version (the default).
	Upsert Mode = "upsert"
	// Append keeps every distinct version of a row (history mode); the table
	// has no primary key.
	Append Mode = "append"
	// Replace rebuilds the table from each full run and swaps it in atomically
	// at the end, so rows deleted at the source disappear.
	Replace Mode = "replace"
)

// ParseMode parses a config mode; "" is Upsert.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case "", Upsert:
		return Upsert, nil
	case Append, Replace:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown mode %q (valid: upsert, append, replace)", s)
}

// Record is one object as the API returned it.
type Record struct {
	// Raw is the object's JSON, stored verbatim in _raw.
	Raw []byte
	// Custom is a JSON object of the record's custom field values (field id ->
	// value), for tables with a custom column; nil otherwise.
	Custom []byte
	// Tag fills the table's FromTag column, if it has one.
	Tag string
}

// Batch is a unit of work committed in one transaction.
type Batch struct {
	Records []Record
	// Bookmark, when non-empty, becomes the report's state in the same
	// transaction as the records: the next run resumes from it.
	Bookmark string
	// Changes, when set, receives the keys of the rows the batch created
	// and updated (tables with a one-column key; not in Replace mode).
	Changes *Changes
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
	// Report is the state key: one bookmark per (Account, Report).
	Report string
}

// Counters are the run's totals so far, written with every batch.
type Counters struct {
	Requests, Retries int64
}

// stageDDL is the per-connection staging table the appender fills.
const stageDDL = `CREATE TEMP TABLE IF NOT EXISTS _stage (
    _seq INTEGER, _raw VARCHAR, _custom VARCHAR, _tag VARCHAR, _parent VARCHAR, _pos INTEGER)`

// Apply writes a batch into table t (and its children) in one transaction,
// together with the run's counters and the report's bookmark. It returns the
// number of rows written: records that lost to a newer stored version and
// duplicates within the batch are not counted. In Replace mode the rows go
// to the table's shadow, started by StartReplace and swapped in by
// FinishReplace.
func (s *Store) Apply(ctx context.Context, run Run, t schema.Table, mode Mode, b Batch, c Counters) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var written int64
	err := s.inTx(ctx, func() error {
		var ch Changes
		var collect *Changes
		if b.Changes != nil && len(t.Key) == 1 && mode != Replace {
			collect = &ch
		}
		n, err := s.writeBatch(ctx, t, mode, b.Records, run.ID, collect)
		if err != nil {
			return err
		}
		written = n
		if b.Bookmark != "" {
			if err := s.putBookmark(ctx, run, b.Bookmark); err != nil {
				return err
			}
		}
		upserted := n
		if mode == Replace {
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
		return 0, fmt.Errorf("write %s batch of %d: %w", t.Name, len(b.Records), err)
	}
	return written, nil
}

func (s *Store) writeBatch(ctx context.Context, t schema.Table, mode Mode, recs []Record, runID int64, changes *Changes) (int64, error) {
	if len(recs) == 0 {
		return 0, nil
	}
	if _, err := s.conn.ExecContext(ctx, stageDDL); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	if _, err := s.conn.ExecContext(ctx, "DELETE FROM _stage"); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	if err := s.appendStage(recs); err != nil {
		return 0, fmt.Errorf("stage: %w", err)
	}
	target := qualified(s.schema, t.Name)
	if mode == Replace {
		target = shadowName(s.schema, t.Name)
	}
	typed := dedupeSQL(t, typedSelectSQL(t, "SELECT _raw, _custom, _tag, _parent, _pos, _seq FROM _stage"))
	if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE _typed AS "+typed); err != nil {
		return 0, fmt.Errorf("type records: %w", err)
	}
	if err := s.checkKeys(ctx, t); err != nil {
		return 0, err
	}
	// Never replace a row with an older version of it; in append mode, never
	// store the same version twice.
	switch {
	case mode == Append && t.Order != "":
		q := fmt.Sprintf("DELETE FROM _typed WHERE EXISTS (SELECT 1 FROM %s t WHERE %s AND t.%s IS NOT DISTINCT FROM _typed.%s)",
			target, keyMatch(t, "t", "_typed"), quoteIdent(t.Order), quoteIdent(t.Order))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("skip stored versions: %w", err)
		}
	case mode != Append && t.Order != "":
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
	res, err := s.conn.ExecContext(ctx, insertSQL(target, t, "_typed", mode != Append), runID)
	if err != nil {
		return 0, fmt.Errorf("upsert into %s: %w", target, err)
	}
	n, _ := res.RowsAffected()
	for _, ch := range t.Children {
		if err := s.writeChildren(ctx, t, ch, mode, runID); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// writeChildren replaces the child rows of every parent in _typed.
func (s *Store) writeChildren(ctx context.Context, parent schema.Table, ch schema.Child, mode Mode, runID int64) error {
	pc, _ := ch.Table.ParentColumn()
	target := qualified(s.schema, ch.Table.Name)
	if mode == Replace {
		target = shadowName(s.schema, ch.Table.Name)
	}
	if mode != Append {
		q := fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM _typed)", target, quoteIdent(pc.Name), quoteIdent(parent.Key[0]))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("clear %s: %w", ch.Table.Name, err)
		}
	}
	src := childSourceSQL(parent.Key[0], ch.Field, "_typed")
	if hasCustom(ch.Table) {
		src = customFromRawSQL(src)
	}
	if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE _ctyped AS "+typedSelectSQL(ch.Table, src)); err != nil {
		return fmt.Errorf("flatten %s: %w", ch.Table.Name, err)
	}
	if _, err := s.conn.ExecContext(ctx, insertSQL(target, ch.Table, "_ctyped", false), runID); err != nil {
		return fmt.Errorf("insert %s: %w", ch.Table.Name, err)
	}
	return nil
}

// checkKeys fails the batch when a record lacks its key: an API response of
// an unexpected shape must not silently vanish.
func (s *Store) checkKeys(ctx context.Context, t schema.Table) error {
	conds := make([]string, len(t.Key))
	for i, k := range t.Key {
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
		return fmt.Errorf("%d record(s) without key %s, e.g. %s", n, strings.Join(t.Key, ", "), ex)
	}
	return nil
}

// appendStage fills _stage with the batch through the DuckDB appender.
func (s *Store) appendStage(recs []Record) error {
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
			a.Close()
			return err
		}
		return a.Close()
	})
}

func (s *Store) putBookmark(ctx context.Context, run Run, bookmark string) error {
	_, err := s.conn.ExecContext(ctx, `INSERT INTO sync.state (account, report, bookmark, run_id, updated_at)
		VALUES (?, ?, ?, ?, now())
		ON CONFLICT (account, report) DO UPDATE SET bookmark = EXCLUDED.bookmark, run_id = EXCLUDED.run_id, updated_at = EXCLUDED.updated_at`,
		run.Account, run.Report, bookmark, run.ID)
	if err != nil {
		return fmt.Errorf("save bookmark: %w", err)
	}
	return nil
}

// shadowName is where Replace mode builds a table before swapping it in.
func shadowName(schemaName, table string) string {
	return qualified("sync", "_replace_"+schemaName+"_"+table)
}

// StartReplace creates empty shadow tables for t and its children, dropping
// any left by an interrupted run.
func (s *Store) StartReplace(ctx context.Context, t schema.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tt := range withChildren(t) {
		shadow := shadowName(s.schema, tt.Name)
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+shadow); err != nil {
			return fmt.Errorf("start replace of %s: %w", tt.Name, err)
		}
		ddl := strings.Replace(createTableSQL(s.schema, tt, true), qualified(s.schema, tt.Name), shadow, 1)
		if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
			return fmt.Errorf("start replace of %s: %w", tt.Name, err)
		}
	}
	return nil
}

// FinishReplace swaps the shadow contents into t and its children in one
// transaction and drops the shadows. It returns the number of live rows that
// disappeared (deleted at the source). The run's rows_upserted counts the
// rows swapped in: until then (and if the swap never happens) a replace
// has written nothing.
func (s *Store) FinishReplace(ctx context.Context, run Run, t schema.Table) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var removed int64
	err := s.inTx(ctx, func() error {
		q := fmt.Sprintf("SELECT count(*) FROM %s t WHERE NOT EXISTS (SELECT 1 FROM %s n WHERE %s)",
			qualified(s.schema, t.Name), shadowName(s.schema, t.Name), keyMatch(t, "t", "n"))
		if err := s.conn.QueryRowContext(ctx, q).Scan(&removed); err != nil {
			return err
		}
		var swapped int64
		if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+shadowName(s.schema, t.Name)).Scan(&swapped); err != nil {
			return err
		}
		for _, tt := range withChildren(t) {
			target, shadow := qualified(s.schema, tt.Name), shadowName(s.schema, tt.Name)
			if _, err := s.conn.ExecContext(ctx, "DELETE FROM "+target); err != nil {
				return err
			}
			if _, err := s.conn.ExecContext(ctx, "INSERT INTO "+target+" SELECT * FROM "+shadow); err != nil {
				return err
			}
			if _, err := s.conn.ExecContext(ctx, "DROP TABLE "+shadow); err != nil {
				return err
			}
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
	key := quoteIdent(t.Key[0])
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT CAST(%s AS VARCHAR), EXISTS (SELECT 1 FROM %s t WHERE t.%s = _typed.%s)
		FROM _typed ORDER BY 1`, key, target, key, key))
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
