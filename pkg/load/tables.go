package load

import (
	"context"
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// EnsureTable creates t and its child tables when missing, adds columns the
// catalog gained since they were created, and checks that an existing table
// was made for the same mode (an append table has no primary key).
func (s *Store) EnsureTable(ctx context.Context, t schema.Table, mode Mode) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.ensured[t.Name]; ok && m == mode {
		return nil
	}
	for _, tt := range withChildren(t) {
		if err := s.ensureOne(ctx, tt, mode); err != nil {
			return err
		}
	}
	s.ensured[t.Name] = mode
	return nil
}

func (s *Store) ensureOne(ctx context.Context, t schema.Table, mode Mode) error {
	name := s.schema + "." + t.Name
	cols, exists, err := s.tableColumns(ctx, t.Name)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	if !exists {
		if _, err := s.conn.ExecContext(ctx, createTableSQL(s.schema, t, mode != Append)); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		return nil
	}
	var pk int
	if err := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_constraints()
		WHERE database_name = current_database() AND schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'`,
		s.schema, t.Name).Scan(&pk); err != nil {
		return fmt.Errorf("inspect %s: %w", name, err)
	}
	switch {
	case mode == Append && pk > 0:
		return fmt.Errorf("table %s was created for mode upsert or replace and cannot take mode append: drop it or use another schema", name)
	case mode != Append && pk == 0:
		return fmt.Errorf("table %s was created for mode append (no primary key) and cannot take mode %s: drop it or use another schema", name, mode)
	}
	for _, c := range append(append([]schema.Column{}, t.Columns...), systemColumns...) {
		if _, ok := cols[c.Name]; ok {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", qualified(s.schema, t.Name), quoteIdent(c.Name), c.Type)
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("add column %s to %s: %w", c.Name, name, err)
		}
		s.log.Sugar().Infow("added column", "table", name, "column", c.Name)
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
