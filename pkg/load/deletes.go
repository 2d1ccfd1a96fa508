package load

import (
	"context"
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// DeleteRule says which deletion events soft-delete rows of a table.
type DeleteRule struct {
	Table schema.Table
	// ObjectType is matched with LIKE against the events' object_type
	// ("lead", "task.%", "activity.call").
	ObjectType string
	// LeadColumn, when set, also deletes the rows whose lead was deleted or
	// merged away (Close deletes a lead's contacts, opportunities, tasks and
	// activities with it).
	LeadColumn string
}

// ApplyDeletes sets _deleted_at on the rows that the event log (the table
// eventTable, as synced from /event/) reports deleted, cascading from
// deleted leads by LeadColumn and from every marked row to its child tables.
// A lead merged into another counts as deleted (meta.merge_source_lead_id)
// but does not cascade: its children moved to the destination. Rows already
// marked keep their time; tables not created yet are skipped. It runs in
// one transaction and returns the number of rows marked, which it adds to
// the run's rows_deleted; deletedIDs, when set, receives the keys of the
// rows it marked in the reports' own tables (child rows go with them). Only
// the events and rows of the run's organization are considered.
func (s *Store) ApplyDeletes(ctx context.Context, run Run, eventTable string, rules []DeleteRule, deletedIDs *[]string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.orgTables(ctx)
	if err != nil {
		return 0, err
	}
	if !tables[eventTable] {
		return 0, nil
	}
	events := fmt.Sprintf("(SELECT * FROM %s WHERE %s)", qualified(s.schema, eventTable), orgIs("", run.Org))
	mergeSources := fmt.Sprintf(`SELECT json_extract_string(meta, '$.merge_source_lead_id') AS id, min(date_created) AS at FROM %s
		WHERE action = 'merged' AND object_type = 'lead' AND json_extract_string(meta, '$.merge_source_lead_id') IS NOT NULL GROUP BY 1`, events)
	// Leads deleted outright: their contacts, opportunities, tasks and
	// activities went with them. A merged lead's children moved to the
	// destination instead, so merge sources never cascade.
	cascading := fmt.Sprintf(`SELECT object_id AS id, min(date_created) AS at FROM %s
		WHERE action = 'deleted' AND object_type = 'lead' AND object_id NOT IN (SELECT id FROM (%s)) GROUP BY 1`, events, mergeSources)
	deletedLeads := cascading + " UNION ALL " + mergeSources
	var total int64
	var ids []string
	err = s.inTx(ctx, func() error {
		for _, r := range rules {
			if !tables[r.Table.Name] {
				continue
			}
			t := r.Table.WithOrg()
			target := qualified(s.schema, t.Name)
			deleted := fmt.Sprintf(`SELECT object_id AS id, min(date_created) AS at FROM %s
				WHERE action = 'deleted' AND object_type LIKE %s GROUP BY 1`, events, quoteString(r.ObjectType))
			if r.ObjectType == "lead" {
				deleted = deletedLeads
			}
			key := quoteIdent(t.IDKey()[0])
			org := orgIs(target, run.Org)
			marks := []string{fmt.Sprintf(`UPDATE %s SET _deleted_at = d.at FROM (%s) d
				WHERE %s.%s = d.id AND %s AND %s._deleted_at IS NULL`, target, deleted, target, key, org, target)}
			if r.LeadColumn != "" {
				marks = append(marks, fmt.Sprintf(`UPDATE %s SET _deleted_at = d.at FROM (%s) d
					WHERE %s.%s = d.id AND %s AND %s._deleted_at IS NULL`, target, cascading, target, quoteIdent(r.LeadColumn), org, target))
			}
			for _, q := range marks {
				n, err := s.mark(ctx, q, key, &ids)
				if err != nil {
					return fmt.Errorf("apply deletes to %s: %w", r.Table.Name, err)
				}
				total += n
			}
			n, err := s.cascadeToChildren(ctx, t, tables, run.Org)
			if err != nil {
				return fmt.Errorf("apply deletes to %s: %w", r.Table.Name, err)
			}
			total += n
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

// mark runs one soft-delete UPDATE (q, with its args) and appends the keys
// it marked to ids.
func (s *Store) mark(ctx context.Context, q, key string, ids *[]string, args ...any) (int64, error) {
	rows, err := s.conn.QueryContext(ctx, q+" RETURNING CAST("+key+" AS VARCHAR)", args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return n, err
		}
		*ids = append(*ids, id)
		n++
	}
	return n, rows.Err()
}

// cascadeToChildren gives the child rows of t's marked rows of the
// organization org their parent's _deleted_at; child tables not created
// yet are skipped.
func (s *Store) cascadeToChildren(ctx context.Context, t schema.Table, tables map[string]bool, org string) (int64, error) {
	t = t.WithOrg()
	target, key := qualified(s.schema, t.Name), quoteIdent(t.IDKey()[0])
	var total int64
	for _, ch := range t.Children {
		if !tables[ch.Table.Name] {
			continue
		}
		pc, _ := ch.Table.ParentColumn()
		child := qualified(s.schema, ch.Table.Name)
		res, err := s.conn.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET _deleted_at = p._deleted_at FROM %s p
			WHERE %s.%s = p.%s AND %s.%s = p.%s AND %s AND p._deleted_at IS NOT NULL AND %s._deleted_at IS NULL`,
			child, target, child, quoteIdent(pc.Name), key, child, quoteIdent(schema.ColOrg), quoteIdent(schema.ColOrg), orgIs("p", org), child))
		if err != nil {
			return total, fmt.Errorf("%s: %w", ch.Table.Name, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
