package load

import (
	"context"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/closesync/closesync/pkg/schema"
)

// Reconcile soft-deletes the live rows of t whose key is not among ids (the
// rows of its child views show their parent's _deleted_at, and count), the complete list of what exists in Close now. Only
// rows synced before listedFrom, when the listing began, are considered, so
// a row written while the ids were being listed is never taken for a
// deleted one. It runs in one transaction, adds the count to the run's
// rows_deleted and returns it; deletedIDs, when set, receives the keys.
// Only the rows of the run's organization are considered: ids is that
// organization's listing.
func (s *Store) Reconcile(ctx context.Context, run Run, t schema.Table, ids []string, listedFrom time.Time, deletedIDs *[]string) (int64, error) {
	t = t.WithOrg()
	if len(t.IDKey()) != 1 {
		return 0, fmt.Errorf("reconcile %s: needs a one-column key", t.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.orgTables(ctx)
	if err != nil {
		return 0, err
	}
	if !tables[t.Name] {
		return 0, nil
	}
	target, key := qualified(s.schema, t.Name), quoteIdent(t.IDKey()[0])
	var total int64
	var marked []string
	err = s.inTx(ctx, func() error {
		if _, err := s.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE _seen (id VARCHAR)"); err != nil {
			return fmt.Errorf("stage ids: %w", err)
		}
		if err := s.appendIDs(ids); err != nil {
			return fmt.Errorf("stage ids: %w", err)
		}
		q := fmt.Sprintf(`UPDATE %s SET _deleted_at = now() WHERE _deleted_at IS NULL AND _synced_at < ? AND %s
			AND %s NOT IN (SELECT id FROM _seen)`, target, orgIs("", run.Org), key)
		n, children, err := s.mark(ctx, q, key, childItemsSQL(t, quoteIdent(schema.ColRaw), tables), &marked, listedFrom)
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", t.Name, err)
		}
		total = n + children
		if err := s.closeDeletedVersions(ctx, t, tables); err != nil {
			return err
		}
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE _seen"); err != nil {
			return err
		}
		_, err = s.conn.ExecContext(ctx, "UPDATE sync.runs SET rows_deleted = rows_deleted + ?, rows_extracted = rows_extracted + ? WHERE run_id = ?",
			total, int64(len(ids)), run.ID)
		return err
	})
	if err != nil {
		return 0, err
	}
	if deletedIDs != nil {
		*deletedIDs = append(*deletedIDs, marked...)
	}
	return total, nil
}

func (s *Store) appendIDs(ids []string) error {
	return s.appendRows("_seen", func(a *duckdb.Appender) error {
		for _, id := range ids {
			if err := a.AppendRow(id); err != nil {
				return err
			}
		}
		return nil
	})
}

// PurgeDeleted removes the soft-deleted rows of the organization org from
// the tables for `deletes: hard`, in one transaction, and returns how
// many, the rows their child views lose with them included. Another
// organization's job may keep its deleted rows.
func (s *Store) PurgeDeleted(ctx context.Context, org string, tables []schema.Table) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	have, err := s.orgTables(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	err = s.inTx(ctx, func() error {
		for _, t := range tables {
			if !have[t.Name] {
				continue
			}
			q := "DELETE FROM " + qualified(s.schema, t.Name) + " WHERE _deleted_at IS NOT NULL AND " + orgIs("", org)
			var ids []string
			n, children, err := s.mark(ctx, q, "1", childItemsSQL(t, quoteIdent(schema.ColRaw), have), &ids)
			if err != nil {
				return fmt.Errorf("purge %s: %w", t.Name, err)
			}
			total += n + children
		}
		return nil
	})
	return total, err
}
