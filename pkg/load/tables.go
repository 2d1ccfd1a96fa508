package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// EnsureTable creates t when missing, adds columns the catalog gained
// since it was created, and checks that an existing table is closesync's
// and was made for the same mode (an append table has no primary key). Its
// child tables are views over its _raw (childViewSQL), created or replaced
// here; a child written by an older closesync as a table of its own is
// dropped for its view in one transaction. Every table carries organization_id (schema.Table.WithOrg);
// a table written before closesync kept it is upgraded in place, its rows
// attributed to the organization its records name in _raw, else to org,
// the organization of the account syncing it now. The table, its columns
// and its child views get the catalog's descriptions as comments; a table
// with soft deletes gets its live views (ensureLive), and the starter
// views whose tables now all exist are made (ensureSemantic).
func (s *Store) EnsureTable(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error {
	if err := checkTypes(t); err != nil {
		return err
	}
	t = t.WithOrg()
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.ensured[t.Name]; ok && m == mode {
		return nil
	}
	if err := s.ensureOne(ctx, t, mode, org); err != nil {
		return err
	}
	for _, ch := range t.Children {
		if err := s.ensureChildView(ctx, t, ch); err != nil {
			return err
		}
	}
	if err := s.commentTable(ctx, t); err != nil {
		return err
	}
	if err := s.ensureLive(ctx, t); err != nil {
		return err
	}
	if err := s.ensureSemantic(ctx, t.Name); err != nil {
		return err
	}
	s.ensured[t.Name] = mode
	return nil
}

// ensureChildView creates or replaces the view of the child ch of parent.
// A table of that name that closesync wrote (before child tables became
// views) is dropped and replaced by the view in one transaction: its rows
// were the items of the parent's _raw, which the view shows.
func (s *Store) ensureChildView(ctx context.Context, parent schema.Table, ch schema.Child) error {
	name := s.schema + "." + ch.Table.Name
	tables, err := s.tableNames(ctx)
	if err != nil {
		return err
	}
	view := childViewSQL(s.schema, parent, ch)
	if !tables[ch.Table.Name] {
		if _, err := s.conn.ExecContext(ctx, view); err != nil {
			return fmt.Errorf("create view %s: %w", name, err)
		}
		return nil
	}
	cols, _, err := s.tableColumns(ctx, ch.Table.Name)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	for _, c := range []string{schema.ColRaw, schema.ColSyncedAt} {
		if _, ok := cols[c]; !ok {
			return fmt.Errorf("table %s exists but is not a closesync table (it has no %s column): refusing to replace it by closesync's view; "+
				"set another schema: in the config (e.g. schema: closesync) or move the table away", name, c)
		}
	}
	err = s.inTx(ctx, func() error {
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE "+qualified(s.schema, ch.Table.Name)); err != nil {
			return err
		}
		_, err := s.conn.ExecContext(ctx, view)
		return err
	})
	if err != nil {
		return fmt.Errorf("replace table %s by a view over %s.%s: %w", name, s.schema, parent.Name, err)
	}
	s.log.Sugar().Infow("child table upgraded: now a view over its parent's _raw", "table", name, "parent", s.schema+"."+parent.Name)
	return nil
}

func (s *Store) ensureOne(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error {
	name := s.schema + "." + t.Name
	cols, exists, err := s.tableColumns(ctx, t.Name)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	if !exists {
		if _, err := s.conn.ExecContext(ctx, createTableSQL(s.schema, t, mode != schema.Append)); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		return nil
	}
	var missing []string
	for _, c := range []string{schema.ColRaw, schema.ColSyncedAt} {
		if _, ok := cols[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("table %s exists but is not a closesync table (it has no %s column): refusing to write into it; "+
			"set another schema: in the config (e.g. schema: closesync) or move the table away", name, strings.Join(missing, " or "))
	}
	pk, err := s.primaryKey(ctx, t.Name)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	switch {
	case mode == schema.Append && pk != nil:
		return fmt.Errorf("table %s was created for mode upsert or replace and cannot take mode append: drop it or use another schema", name)
	case mode != schema.Append && pk == nil:
		return fmt.Errorf("table %s was created for mode append (no primary key) and cannot take mode %s: drop it or use another schema", name, mode)
	case pk != nil && !slices.Equal(pk, t.Key) && !slices.Equal(pk, t.IDKey()):
		return fmt.Errorf("table %s has primary key (%s) where closesync's is (%s): it is not closesync's table for this report; "+
			"set another schema: in the config or move the table away", name, strings.Join(pk, ", "), strings.Join(t.Key, ", "))
	}
	_, hadOrg := cols[schema.ColOrg]
	for _, c := range append(append([]schema.Column{}, t.Columns...), systemColumns...) {
		if _, ok := cols[c.Name]; ok {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", qualified(s.schema, t.Name), quoteIdent(c.Name), duckType(c.Type))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.Name, name, err)
		}
		s.log.Sugar().Infow("added column", "table", name, "column", c.Name)
	}
	if pk != nil && !slices.Equal(pk, t.Key) || !hadOrg {
		return s.migrateOrg(ctx, t, pk != nil, org)
	}
	return nil
}

// migrateOrg upgrades a table written before closesync kept organization_id
// (the column is there now, maybe empty): the column is filled, and the
// primary key, which DuckDB cannot alter, is rebuilt with it by copying the
// table, all in one transaction.
func (s *Store) migrateOrg(ctx context.Context, t schema.Table, withKey bool, org string) error {
	name := s.schema + "." + t.Name
	target := qualified(s.schema, t.Name)
	fill := fmt.Sprintf("coalesce(%s, json_extract_string(%s, '$.organization_id'), %s)",
		quoteIdent(schema.ColOrg), quoteIdent(schema.ColRaw), quoteString(org))
	err := s.inTx(ctx, func() error {
		if !withKey {
			_, err := s.conn.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = %s", target, quoteIdent(schema.ColOrg), fill))
			return err
		}
		tmp := "_migrate_" + t.Name
		ddl := strings.Replace(createTableSQL(s.schema, t, true), qualified(s.schema, t.Name), qualified(s.schema, tmp), 1)
		if _, err := s.conn.ExecContext(ctx, ddl); err != nil {
			return err
		}
		cols := storedColumns(t)
		sel := make([]string, len(cols))
		for i, c := range cols {
			sel[i] = quoteIdent(c)
			if c == schema.ColOrg {
				sel[i] = fill
			}
		}
		if _, err := s.conn.ExecContext(ctx, fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s",
			qualified(s.schema, tmp), identList(cols), strings.Join(sel, ", "), target)); err != nil {
			return err
		}
		if _, err := s.conn.ExecContext(ctx, "DROP TABLE "+target); err != nil {
			return err
		}
		_, err := s.conn.ExecContext(ctx, fmt.Sprintf("ALTER TABLE %s RENAME TO %s", qualified(s.schema, tmp), quoteIdent(t.Name)))
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrade %s to one row per organization (organization_id %q): %w", name, org, err)
	}
	s.log.Sugar().Infow("table upgraded: rows carry organization_id, which leads the primary key", "table", name, "organization_id", org)
	return nil
}

// primaryKey returns the columns of the table's primary key, nil if it has
// none.
func (s *Store) primaryKey(ctx context.Context, table string) ([]string, error) {
	var cols []string
	err := s.conn.QueryRowContext(ctx, `SELECT constraint_column_names FROM duckdb_constraints()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'`,
		s.schema, table).Scan(&listScanner{&cols})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return cols, err
}

// listScanner scans a DuckDB VARCHAR[] into a string slice.
type listScanner struct{ out *[]string }

func (l *listScanner) Scan(v any) error {
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("not a list: %T", v)
	}
	for _, it := range items {
		*l.out = append(*l.out, fmt.Sprint(it))
	}
	return nil
}

func (s *Store) tableColumns(ctx context.Context, table string) (map[string]string, bool, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ?`, s.schema, table)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			return nil, false, err
		}
		cols[n] = ty
	}
	return cols, len(cols) > 0, rows.Err()
}

// orgTables names the data tables that carry organization_id. A table
// written before closesync kept it gains it when its report next runs;
// until then deletes, reconcile and views pass it by.
func (s *Store) orgTables(ctx context.Context) (map[string]bool, error) {
	return s.nameSet(ctx, `SELECT table_name FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = ? AND column_name = ?`, s.schema, schema.ColOrg)
}
