package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
)

// catalog is this open's picture of the file's catalog in the schemas
// closesync writes (the data schema, its live schema and sync): each table
// and view with its comment and its columns' comments, each table's primary
// key, and the views closesync made (sync.views). It is read with one scan
// each of duckdb_tables(), duckdb_views(), duckdb_columns() and
// duckdb_constraints() the first time it is needed, then kept true by the
// Store's own DDL. Ensuring the tables, views and comments of every report
// then costs no catalog query when nothing changed: reading
// duckdb_columns() once per table and view made every sync process pay
// seconds for a file of a hundred views. It is dropped (Store.cat = nil),
// to be read again, where the file may have changed otherwise: a failed
// transaction of DDL, a compaction.
type catalog struct {
	rels map[relKey]*relation
}

type relKey struct{ schema, name string }

type relation struct {
	view    bool
	comment string
	cols    map[string]string // column -> comment ("" for none)
	pk      []string          // nil: none (or a view)
	made    *madeView         // what closesync recorded when it made the view
}

// madeView is a sync.views row: the fingerprint of the view closesync made
// (its SQL and comments).
type madeView struct{ fingerprint string }

// catalog returns the catalog, reading it when this open has not yet or
// dropped it.
func (s *Store) catalog(ctx context.Context) (*catalog, error) {
	if s.cat != nil {
		return s.cat, nil
	}
	c, err := s.readCatalog(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the catalog of %s: %w", s.path, err)
	}
	s.cat = c
	return c, nil
}

func (s *Store) catalogSchemas() []any {
	return []any{s.schema, LiveSchema(s.schema), "sync"}
}

func (s *Store) readCatalog(ctx context.Context) (*catalog, error) {
	c := &catalog{rels: map[relKey]*relation{}}
	in := "schema_name IN (?, ?, ?) AND database_name = current_database()"
	err := s.eachRow(ctx, `SELECT schema_name, table_name, false, coalesce(comment, '') FROM duckdb_tables() WHERE `+in+`
		UNION ALL SELECT schema_name, view_name, true, coalesce(comment, '') FROM duckdb_views() WHERE NOT internal AND `+in,
		append(s.catalogSchemas(), s.catalogSchemas()...), func(scan func(...any) error) error {
			var k relKey
			r := &relation{cols: map[string]string{}}
			if err := scan(&k.schema, &k.name, &r.view, &r.comment); err != nil {
				return err
			}
			c.rels[k] = r
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = s.eachRow(ctx, `SELECT schema_name, table_name, column_name, coalesce(comment, '') FROM duckdb_columns() WHERE `+in,
		s.catalogSchemas(), func(scan func(...any) error) error {
			var k relKey
			var col, comment string
			if err := scan(&k.schema, &k.name, &col, &comment); err != nil {
				return err
			}
			if r := c.rels[k]; r != nil {
				r.cols[col] = comment
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = s.eachRow(ctx, `SELECT schema_name, table_name, constraint_column_names FROM duckdb_constraints()
		WHERE constraint_type = 'PRIMARY KEY' AND `+in, s.catalogSchemas(), func(scan func(...any) error) error {
		var k relKey
		var pk []string
		if err := scan(&k.schema, &k.name, &listScanner{&pk}); err != nil {
			return err
		}
		if r := c.rels[k]; r != nil {
			r.pk = pk
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if c.rels[relKey{"sync", "views"}] == nil {
		return c, nil // before its migration
	}
	err = s.eachRow(ctx, `SELECT schema_name, view_name, fingerprint FROM sync.views`, nil,
		func(scan func(...any) error) error {
			var k relKey
			var m madeView
			if err := scan(&k.schema, &k.name, &m.fingerprint); err != nil {
				return err
			}
			if r := c.rels[k]; r != nil && r.view {
				r.made = &m
			}
			return nil
		})
	return c, err
}

// eachRow runs q and calls row with each row's Scan.
func (s *Store) eachRow(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error {
	rows, err := s.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// rel returns the table or view schemaName.name, nil if there is none.
func (c *catalog) rel(schemaName, name string) *relation { return c.rels[relKey{schemaName, name}] }

// table returns the table schemaName.name, nil if there is none (or it is a view).
func (c *catalog) table(schemaName, name string) *relation {
	if r := c.rel(schemaName, name); r != nil && !r.view {
		return r
	}
	return nil
}

// names returns the names of the schema's tables (views false) or views.
func (c *catalog) names(schemaName string, views bool) map[string]bool {
	out := map[string]bool{}
	for k, r := range c.rels {
		if k.schema == schemaName && r.view == views {
			out[k.name] = true
		}
	}
	return out
}

// addTable records a table this open created with these columns and key.
func (c *catalog) addTable(schemaName, name string, cols []string, pk []string) {
	r := &relation{cols: map[string]string{}, pk: pk}
	for _, col := range cols {
		r.cols[col] = ""
	}
	c.rels[relKey{schemaName, name}] = r
}

// viewDef is a view closesync makes: its CREATE OR REPLACE VIEW statement
// and its comments.
type viewDef struct {
	schema, name string
	sql          string
	doc          string
	columns      map[string]string // column -> comment
}

// fingerprint identifies the definition: a view with the same one needs
// nothing done.
func (v viewDef) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", v.sql, v.doc)
	for _, k := range slices.Sorted(maps.Keys(v.columns)) {
		fmt.Fprintf(h, "%s\x00%s\x00", k, v.columns[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ensureView makes v unless the file holds it as closesync last made it:
// the same fingerprint, and its comments in place. A view someone replaced
// has lost them (CREATE OR REPLACE drops a view's comments), so it is made
// again; DuckDB's SQL of a view is no test, since it differs between the
// open that made the view and the next ("DATE" becomes DATE). Making it is one transaction: the view,
// its comments (CREATE OR REPLACE drops them) on the columns it has, and
// its sync.views row. It reports whether it made the view.
func (s *Store) ensureView(ctx context.Context, v viewDef) (bool, error) {
	c, err := s.catalog(ctx)
	if err != nil {
		return false, err
	}
	fp := v.fingerprint()
	if c.rel(v.schema, v.name).asMade(v, fp) {
		return false, nil
	}
	record := c.table("sync", "views") != nil // not before its migration
	name := qualified(v.schema, v.name)
	made := &relation{view: true, comment: v.doc, cols: map[string]string{}}
	err = s.inTx(ctx, func() error {
		if _, err := s.conn.ExecContext(ctx, v.sql); err != nil {
			return err
		}
		cols, err := s.viewColumns(ctx, name)
		if err != nil {
			return err
		}
		var stmts []string
		if v.doc != "" {
			stmts = append(stmts, fmt.Sprintf("COMMENT ON VIEW %s IS %s", name, quoteString(v.doc)))
		}
		for _, col := range cols {
			made.cols[col] = v.columns[col]
			if v.columns[col] != "" {
				stmts = append(stmts, fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", name, quoteIdent(col), quoteString(v.columns[col])))
			}
		}
		for _, q := range stmts {
			if _, err := s.conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		made.made = &madeView{fingerprint: fp}
		if !record {
			return nil
		}
		_, err = s.conn.ExecContext(ctx, `INSERT OR REPLACE INTO sync.views (schema_name, view_name, fingerprint, definition, made_at)
			VALUES (?, ?, ?, ?, now())`, v.schema, v.name, fp, v.sql)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create view %s.%s: %w", v.schema, v.name, err)
	}
	c.rels[relKey{v.schema, v.name}] = made
	return true, nil
}

// asMade reports whether r is the view v as closesync made it: the same
// fingerprint and its comments in place (someone may have replaced the
// view, or dropped a comment).
func (r *relation) asMade(v viewDef, fingerprint string) bool {
	if r == nil || !r.view || r.made == nil || r.made.fingerprint != fingerprint || r.comment != v.doc {
		return false
	}
	for col, have := range r.cols {
		if want := v.columns[col]; want != "" && want != have {
			return false
		}
	}
	return true
}

// viewColumns returns the columns of the view name (qualified), in order,
// by binding it: no catalog scan.
func (s *Store) viewColumns(ctx context.Context, name string) ([]string, error) {
	rows, err := s.conn.QueryContext(ctx, "SELECT * FROM "+name+" LIMIT 0")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	return cols, rows.Err()
}

// forget drops the table or view schemaName.name from the catalog (this
// open dropped it).
func (c *catalog) forget(schemaName, name string) { delete(c.rels, relKey{schemaName, name}) }

// has reports whether the table or view has the column col.
func (r *relation) has(col string) bool {
	_, ok := r.cols[col]
	return ok
}

// withColumn returns the schema's tables and views that have the column
// col.
func (c *catalog) withColumn(schemaName, col string) map[string]bool {
	out := map[string]bool{}
	for k, r := range c.rels {
		if k.schema == schemaName && r.has(col) {
			out[k.name] = true
		}
	}
	return out
}
