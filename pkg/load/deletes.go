package load

import (
	"context"
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// ApplyDeletes sets _deleted_at on the rows of the tables that declare a
// delete rule (schema.Table.Deletes) whose deletion events the event log
// (the table eventTable, as synced from /event/) holds, cascading from
// deleted owners (a lead) by the rule's OwnerColumn; the rows of its child
// tables, views over its _raw, show their parent's _deleted_at. An object merged into another (its rule's
// MergeSource) counts as deleted but does not cascade: its dependants moved
// to the destination. Rows already marked keep their time; tables without a
// rule or not created yet are skipped. It runs in one transaction and
// returns the number of rows marked, child rows included, which it adds to
// the run's rows_deleted; deletedIDs, when set, receives the keys of the rows it
// marked in the reports' own tables (child rows go with them). Only the
// events and rows of the run's organization are considered.
func (s *Store) ApplyDeletes(ctx context.Context, run Run, eventTable string, tables []schema.Table, deletedIDs *[]string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, err := s.orgTables(ctx)
	if err != nil {
		return 0, err
	}
	if !existing[eventTable] {
		return 0, nil
	}
	events := fmt.Sprintf("(SELECT * FROM %s WHERE %s)", qualified(s.schema, eventTable), orgIs("", run.Org))
	var total int64
	var ids []string
	err = s.inTx(ctx, func() error {
		for _, t := range tables {
			r := t.Deletes
			if r == nil || !existing[t.Name] {
				continue
			}
			t = t.WithOrg()
			target := qualified(s.schema, t.Name)
			key := quoteIdent(t.IDKey()[0])
			org := orgIs(target, run.Org)
			marks := []string{fmt.Sprintf(`UPDATE %s SET _deleted_at = d.at FROM (%s) d
				WHERE %s.%s = d.id AND %s AND %s._deleted_at IS NULL`, target, deletedSQL(events, r), target, key, org, target)}
			if r.Owner != nil {
				marks = append(marks, fmt.Sprintf(`UPDATE %s SET _deleted_at = d.at FROM (%s) d
					WHERE %s.%s = d.id AND %s AND %s._deleted_at IS NULL`, target, deletedOutrightSQL(events, r.Owner), target, quoteIdent(r.OwnerColumn), org, target))
			}
			for _, q := range marks {
				n, children, err := s.mark(ctx, q, key, childItemsSQL(t, quoteIdent(schema.ColRaw), existing), &ids)
				if err != nil {
					return fmt.Errorf("apply deletes to %s: %w", t.Name, err)
				}
				total += n + children
			}
			if err := s.closeDeletedVersions(ctx, t, existing); err != nil {
				return err
			}
		}
		_, err := s.conn.ExecContext(ctx, "UPDATE sync.runs SET rows_deleted = rows_deleted + ? WHERE run_id = ?", total, run.ID)
		return err
	})
	if err != nil {
		return 0, err
	}
	if deletedIDs != nil {
		*deletedIDs = append(*deletedIDs, ids...)
	}
	return total, nil
}

// mergeSourcesSQL selects (id, at) of the objects of r's type that the
// events merged into another: the id is the rule's MergeSource key of the
// "merged" event's meta.
func mergeSourcesSQL(events string, r *schema.DeleteRule) string {
	src := "json_extract_string(meta, " + quoteString("$."+r.MergeSource) + ")"
	return fmt.Sprintf(`SELECT %s AS id, min(date_created) AS at FROM %s
		WHERE action = 'merged' AND object_type LIKE %s AND %s IS NOT NULL GROUP BY 1`, src, events, quoteString(r.ObjectType), src)
}

// deletedOutrightSQL selects (id, at) of the objects of r's type that the
// events deleted, less those merged away (which took their dependants
// along): the deletions that cascade to owned rows.
func deletedOutrightSQL(events string, r *schema.DeleteRule) string {
	q := fmt.Sprintf(`SELECT object_id AS id, min(date_created) AS at FROM %s
		WHERE action = 'deleted' AND object_type LIKE %s`, events, quoteString(r.ObjectType))
	if r.MergeSource != "" {
		q += fmt.Sprintf(" AND object_id NOT IN (SELECT id FROM (%s))", mergeSourcesSQL(events, r))
	}
	return q + " GROUP BY 1"
}

// deletedSQL selects (id, at) of every object of r's type that is gone:
// deleted outright or merged away.
func deletedSQL(events string, r *schema.DeleteRule) string {
	q := deletedOutrightSQL(events, r)
	if r.MergeSource != "" {
		q += " UNION ALL " + mergeSourcesSQL(events, r)
	}
	return q
}

// mark runs one soft-delete UPDATE (or the DELETE of a purge) q, with its
// args, appends the keys (key, an expression of the row) it marked to ids and returns how many rows it marked and the sum of
// children (an expression of the marked row, childItemsSQL) over them: the
// rows of the child views that now show the parent's _deleted_at.
func (s *Store) mark(ctx context.Context, q, key, children string, ids *[]string, args ...any) (int64, int64, error) {
	rows, err := s.conn.QueryContext(ctx, q+" RETURNING CAST("+key+" AS VARCHAR), "+children, args...)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var n, items int64
	for rows.Next() {
		var id string
		var c int64
		if err := rows.Scan(&id, &c); err != nil {
			return n, items, err
		}
		*ids = append(*ids, id)
		n++
		items += c
	}
	return n, items, rows.Err()
}
