package load

import (
	"context"
	"database/sql"
	"fmt"
)

// RawKeyAdded is the change of a key seen in a table's _raw for the first
// time after the table's first batch (sync.raw_keys, sync.schema_changes).
const RawKeyAdded = "raw_key_added"

// recordRawKeys records the top-level keys of the batch's records (_typed)
// that table's records of the organization never had: in sync.raw_keys,
// and, when an earlier run recorded the table's keys (its first run is the
// baseline), as raw_key_added changes. Custom field keys (custom.cf_...)
// are left out: a field added in Close is a field_added change of
// custom_fields, and a record carries a custom key only once it has a
// value. It runs in the batch's transaction, so a batch that does not
// commit records nothing.
func (s *Store) recordRawKeys(ctx context.Context, table string, run Run) error {
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT k,
			EXISTS (SELECT 1 FROM sync.raw_keys WHERE organization_id = $1 AND table_name = $2 AND run_id < $3)
		FROM (SELECT DISTINCT unnest(json_keys(%s)) AS k FROM _typed)
		WHERE NOT starts_with(k, 'custom.')
			AND k NOT IN (SELECT key FROM sync.raw_keys WHERE organization_id = $1 AND table_name = $2) ORDER BY k`, quoteIdent("_raw")),
		run.Org, table, run.ID)
	if err != nil {
		return fmt.Errorf("read the keys of the batch: %w", err)
	}
	keys, baseline, err := newKeys(rows)
	if err != nil {
		return fmt.Errorf("read the keys of the batch: %w", err)
	}
	for _, k := range keys {
		if _, err := s.conn.ExecContext(ctx, `INSERT INTO sync.raw_keys (organization_id, table_name, key, run_id, first_seen)
			VALUES (?, ?, ?, ?, now())`, run.Org, table, k, run.ID); err != nil {
			return fmt.Errorf("record the key %q of %s: %w", k, table, err)
		}
		if !baseline {
			continue
		}
		if _, err := s.conn.ExecContext(ctx, `INSERT INTO sync.schema_changes
			(change_id, run_id, seen_at, organization_id, object_type, views, change, field_id, name, previous, current)
			VALUES (nextval('sync.schema_change_id_seq'), ?, now(), ?, ?, '', ?, ?, ?, NULL, NULL)`,
			run.ID, run.Org, table, RawKeyAdded, k, k); err != nil {
			return fmt.Errorf("record the new key %q of %s: %w", k, table, err)
		}
	}
	return nil
}

// RawKeyChanges are the raw_key_added changes run recorded (for the
// schema.changed notification).
func (s *Store) RawKeyChanges(ctx context.Context, runID int64) ([]SchemaChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.conn.QueryContext(ctx, `SELECT object_type, name FROM sync.schema_changes WHERE run_id = ? AND change = ? ORDER BY change_id`,
		runID, RawKeyAdded)
	if err != nil {
		return nil, fmt.Errorf("read the new raw keys of run %d: %w", runID, err)
	}
	defer rows.Close()
	var out []SchemaChange
	for rows.Next() {
		var table, key string
		if err := rows.Scan(&table, &key); err != nil {
			return nil, err
		}
		out = append(out, SchemaChange{Change: RawKeyAdded, FieldID: key, Name: key, ObjectType: table, New: true})
	}
	return out, rows.Err()
}

// newKeys scans recordRawKeys' query: each new key, and whether the table
// has a baseline.
func newKeys(rows *sql.Rows) (keys []string, baseline bool, err error) {
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k, &baseline); err != nil {
			return nil, false, err
		}
		keys = append(keys, k)
	}
	return keys, baseline, rows.Err()
}
