package load

import (
	"context"
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
	// One transaction for the table, its views and their comments: each
	// commit costs far more than the statements of one view, and a table
	// is then never seen without its views.
	err := s.inTx(ctx, func() error {
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
		return s.ensureSemantic(ctx, t.Name)
	})
	if err != nil {
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
	c, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	v := viewDef{schema: s.schema, name: ch.Table.Name, sql: childViewSQL(s.schema, parent, ch), doc: childDoc(parent, ch), columns: tableDocs(ch.Table)}
	old := c.table(s.schema, ch.Table.Name)
	if old == nil {
		_, err := s.ensureView(ctx, v)
		return err
	}
	for _, col := range []string{schema.ColRaw, schema.ColSyncedAt} {
		if !old.has(col) {
			return fmt.Errorf("table %s exists but is not a closesync table (it has no %s column): refusing to replace it by closesync's view; "+
				"set another schema: in the config (e.g. schema: closesync) or move the table away", name, col)
		}
	}
	err = s.inTx(ctx, func() error {
		_, err := s.conn.ExecContext(ctx, "DROP TABLE "+qualified(s.schema, ch.Table.Name))
		return err
	})
	if err != nil {
		return fmt.Errorf("replace table %s by a view over %s.%s: %w", name, s.schema, parent.Name, err)
	}
	c.forget(s.schema, ch.Table.Name)
	if _, err := s.ensureView(ctx, v); err != nil {
		return fmt.Errorf("replace table %s by a view over %s.%s (the table, whose rows the view shows from %s._raw, is dropped): %w",
			name, s.schema, parent.Name, parent.Name, err)
	}
	s.log.Sugar().Infow("child table upgraded: now a view over its parent's _raw", "table", name, "parent", s.schema+"."+parent.Name)
	return nil
}

func (s *Store) ensureOne(ctx context.Context, t schema.Table, mode schema.WriteMode, org string) error {
	name := s.schema + "." + t.Name
	cat, err := s.catalog(ctx)
	if err != nil {
		return err
	}
	rel := cat.table(s.schema, t.Name)
	if rel == nil {
		if _, err := s.conn.ExecContext(ctx, createTableSQL(s.schema, t, mode != schema.Append)); err != nil {
			s.cat = nil
			return fmt.Errorf("create %s: %w", name, err)
		}
		var key []string
		if mode != schema.Append {
			key = t.Key
		}
		cat.addTable(s.schema, t.Name, storedColumns(t), key)
		return nil
	}
	var missing []string
	for _, c := range []string{schema.ColRaw, schema.ColSyncedAt} {
		if !rel.has(c) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("table %s exists but is not a closesync table (it has no %s column): refusing to write into it; "+
			"set another schema: in the config (e.g. schema: closesync) or move the table away", name, strings.Join(missing, " or "))
	}
	pk := rel.pk
	switch {
	case mode == schema.Append && pk != nil:
		return fmt.Errorf("table %s was created for mode upsert or replace and cannot take mode append: drop it or use another schema", name)
	case mode != schema.Append && pk == nil:
		return fmt.Errorf("table %s was created for mode append (no primary key) and cannot take mode %s: drop it or use another schema", name, mode)
	case pk != nil && !slices.Equal(pk, t.Key) && !slices.Equal(pk, t.IDKey()):
		return fmt.Errorf("table %s has primary key (%s) where closesync's is (%s): it is not closesync's table for this report; "+
			"set another schema: in the config or move the table away", name, strings.Join(pk, ", "), strings.Join(t.Key, ", "))
	}
	hadOrg := rel.has(schema.ColOrg)
	for _, c := range append(append([]schema.Column{}, t.Columns...), systemColumns...) {
		if rel.has(c.Name) {
			continue
		}
		q := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", qualified(s.schema, t.Name), quoteIdent(c.Name), duckType(c.Type))
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			s.cat = nil
			return fmt.Errorf("add column %s to %s: %w", c.Name, name, err)
		}
		rel.cols[c.Name] = ""
		s.log.Sugar().Infow("added column", "table", name, "column", c.Name)
	}
	if pk != nil && !slices.Equal(pk, t.Key) || !hadOrg {
		if err := s.migrateOrg(ctx, t, pk != nil, org); err != nil {
			s.cat = nil
			return err
		}
		if pk != nil {
			// The table was made again (copied): its key is closesync's now
			// and its comments are gone.
			cat.addTable(s.schema, t.Name, storedColumns(t), t.Key)
		}
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

// tableNames returns the names of the data schema's tables.
func (s *Store) tableNames(ctx context.Context) (map[string]bool, error) {
	c, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	return c.names(s.schema, false), nil
}

// viewNames returns the names of the data schema's views.
func (s *Store) viewNames(ctx context.Context) (map[string]bool, error) {
	c, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	return c.names(s.schema, true), nil
}

// orgTables names the data tables (and views) that carry organization_id.
// A table written before closesync kept it gains it when its report next
// runs; until then deletes, reconcile and views pass it by.
func (s *Store) orgTables(ctx context.Context) (map[string]bool, error) {
	c, err := s.catalog(ctx)
	if err != nil {
		return nil, err
	}
	return c.withColumn(s.schema, schema.ColOrg), nil
}
