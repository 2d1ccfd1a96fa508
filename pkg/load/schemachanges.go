package load

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// Field changes, the change column of sync.schema_changes.
const (
	FieldAdded   = "field_added"
	FieldRenamed = "field_renamed"
	FieldRetyped = "field_retyped"
	FieldDeleted = "field_deleted"
)

// baselineCustomFields is the subject of sync.schema_baselines for the
// custom field definitions.
const baselineCustomFields = "custom_fields"

// SchemaChange is one row of sync.schema_changes.
type SchemaChange struct {
	Change     string // FieldAdded, FieldRenamed, FieldRetyped or FieldDeleted
	FieldID    string
	Name       string   // the field's name now; a deleted field's last name
	ObjectType string   // the Close object type the field belongs to (lead, contact, shared ...)
	Views      []string // the <table>_custom views that show it
	// Previous and Current are the old and new name (renamed) or type
	// (retyped); empty otherwise.
	Previous, Current string
	// New says this run recorded it: under freeze and fail, a change stays
	// pending, run after run, but is recorded once.
	New bool
}

// seenField is a custom field definition as sync.custom_fields_seen holds
// it: the type carries [] when the field accepts several values, so that a
// change between one and several values is a retype.
type seenField struct{ name, typ, objectType string }

// RecordFieldChanges compares the organization's live custom field
// definitions (the definitions table, custom_fields) with those in
// sync.custom_fields_seen, the definitions the _custom views show, and
// returns the differences. Each is recorded in sync.schema_changes with
// run's id unless it was recorded since the seen definitions were last
// kept. With follow (on_schema_change: evolve) the live definitions become
// the seen ones and the views follow them; without (freeze, fail) the seen
// ones stay, and so do the views. All in one transaction. An
// organization's first run is its baseline: it records nothing and keeps
// the live definitions either way. tables are the tables with custom
// views, whose CustomFieldTypes say which views a field appears in.
func (s *Store) RecordFieldChanges(ctx context.Context, run Run, definitions string, tables []schema.Table, follow bool) ([]SchemaChange, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, err := s.tableNames(ctx)
	if err != nil {
		return nil, err
	}
	if !existing[definitions] {
		return nil, nil
	}
	var changes []SchemaChange
	err = s.inTx(ctx, func() error {
		live := liveDefinitionsSQL(qualified(s.schema, definitions))
		current, err := s.fieldDefinitions(ctx, `SELECT id, name, type, object_type FROM (`+live+`)`, run.Org)
		if err != nil {
			return fmt.Errorf("read the custom field definitions: %w", err)
		}
		seen, err := s.fieldDefinitions(ctx, `SELECT id, name, type, object_type FROM sync.custom_fields_seen WHERE organization_id = ?`, run.Org)
		if err != nil {
			return fmt.Errorf("read the custom fields seen before: %w", err)
		}
		var keptBy sql.NullInt64
		if err := s.conn.QueryRowContext(ctx, `SELECT max(run_id) FROM sync.schema_baselines WHERE organization_id = ? AND subject = ?`,
			run.Org, baselineCustomFields).Scan(&keptBy); err != nil {
			return fmt.Errorf("read the schema baseline: %w", err)
		}
		if !keptBy.Valid {
			follow = true // the baseline
		} else {
			changes = fieldChanges(seen, current, tables)
		}
		for i, c := range changes {
			res, err := s.conn.ExecContext(ctx, `INSERT INTO sync.schema_changes
				(change_id, run_id, seen_at, organization_id, object_type, views, change, field_id, name, previous, current)
				SELECT nextval('sync.schema_change_id_seq'), ?, now(), ?, ?, ?, ?, ?, ?, nullif(?, ''), nullif(?, '')
				WHERE NOT EXISTS (SELECT 1 FROM sync.schema_changes WHERE organization_id = ? AND field_id = ? AND change = ?
					AND coalesce(previous, '') = ? AND coalesce(current, '') = ? AND run_id > ?)`,
				run.ID, run.Org, c.ObjectType, strings.Join(c.Views, ", "), c.Change, c.FieldID, c.Name, c.Previous, c.Current,
				run.Org, c.FieldID, c.Change, c.Previous, c.Current, keptBy.Int64)
			if err != nil {
				return fmt.Errorf("record a schema change: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("record a schema change: %w", err)
			}
			changes[i].New = n > 0
		}
		if !follow {
			return nil
		}
		if _, err := s.conn.ExecContext(ctx, `DELETE FROM sync.custom_fields_seen WHERE organization_id = ?`, run.Org); err != nil {
			return fmt.Errorf("forget the custom fields seen before: %w", err)
		}
		if _, err := s.conn.ExecContext(ctx, `INSERT INTO sync.custom_fields_seen `+live, run.Org); err != nil {
			return fmt.Errorf("keep the custom fields seen: %w", err)
		}
		if _, err := s.conn.ExecContext(ctx, `INSERT OR REPLACE INTO sync.schema_baselines VALUES (?, ?, ?)`,
			run.Org, baselineCustomFields, run.ID); err != nil {
			return fmt.Errorf("record the schema baseline: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("schema changes of %s: %w", definitions, err)
	}
	return changes, nil
}

// liveDefinitionsSQL selects an organization's (the parameter) live custom
// field definitions from table as sync.custom_fields_seen holds them.
func liveDefinitionsSQL(table string) string {
	return `SELECT organization_id, id, coalesce(name, id) AS name,
		coalesce(type, 'text') || CASE WHEN accepts_multiple_values THEN '[]' ELSE '' END AS type,
		coalesce(object_type, '') AS object_type
		FROM ` + table + ` WHERE organization_id = ? AND _deleted_at IS NULL`
}

func (s *Store) fieldDefinitions(ctx context.Context, q string, args ...any) (map[string]seenField, error) {
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]seenField{}
	for rows.Next() {
		var id string
		var f seenField
		if err := rows.Scan(&id, &f.name, &f.typ, &f.objectType); err != nil {
			return nil, err
		}
		out[id] = f
	}
	return out, rows.Err()
}

// fieldChanges lists what changed from seen to current, ordered by change
// and field name: a field renamed and retyped at once is two changes.
func fieldChanges(seen, current map[string]seenField, tables []schema.Table) []SchemaChange {
	views := func(objectType string) []string {
		var out []string
		for _, t := range tables {
			if slices.Contains(t.CustomFieldTypes, objectType) {
				out = append(out, t.Name+"_custom")
			}
		}
		return out
	}
	var out []SchemaChange
	add := func(change, id string, f seenField, previous, current string) {
		out = append(out, SchemaChange{Change: change, FieldID: id, Name: f.name, ObjectType: f.objectType,
			Views: views(f.objectType), Previous: previous, Current: current})
	}
	for id, c := range current {
		p, ok := seen[id]
		switch {
		case !ok:
			add(FieldAdded, id, c, "", "")
		default:
			if p.name != c.name {
				add(FieldRenamed, id, c, p.name, c.name)
			}
			if p.typ != c.typ {
				add(FieldRetyped, id, c, p.typ, c.typ)
			}
		}
	}
	for id, p := range seen {
		if _, ok := current[id]; !ok {
			add(FieldDeleted, id, p, "", "")
		}
	}
	slices.SortFunc(out, func(a, b SchemaChange) int {
		return strings.Compare(a.Change+"\x00"+a.Name+"\x00"+a.FieldID, b.Change+"\x00"+b.Name+"\x00"+b.FieldID)
	})
	return out
}
