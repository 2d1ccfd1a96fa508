package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// This file exports, to this package's external tests only, what the
// benchmark against DuckDB's own pipelines (duckbench_test.go) needs: the
// generators of closesync's DDL and typing SQL, so the pipelines write the
// very columns closesync writes, and a way to run SQL on a Store's
// connection.

// ExecBench runs q on the store's one connection.
func (s *Store) ExecBench(ctx context.Context, q string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.conn.ExecContext(ctx, q)
	return err
}

// Pipeline names a pure-DuckDB pipeline of the benchmark.
type Pipeline int

// The pipelines, each a superset of the one before.
const (
	// ParentOnly reads the NDJSON file with read_json_objects into t's
	// table (no primary key): the typed columns, custom and _raw.
	ParentOnly Pipeline = iota
	// WithChildren is ParentOnly plus t's child tables, by unnest of the
	// arrays the parent's one json_transform pass extracted, each child row
	// with its own _raw (and custom, as closesync gathers it).
	WithChildren
	// Upsert is WithChildren into tables with closesync's primary keys:
	// the batch deduped by key as closesync does, every table written by
	// INSERT ... ON CONFLICT DO UPDATE.
	Upsert
)

// PipelineSQL returns the statements of pipeline p loading the NDJSON file
// of t's records (one record a line, as the API sent it) for the
// organization org into schemaName: the DDL first, then the load. t is the
// report's table as declared (WithOrg is applied here). Every column comes
// from the generators Apply uses; only the source differs: the file read by
// DuckDB instead of the appender's _stage, custom gathered in SQL from _raw
// (as closesync does for child items) instead of in Go. The load after the
// DDL is one transaction, as closesync commits a batch's tables together.
func PipelineSQL(p Pipeline, schemaName string, t schema.Table, file, org string) []string {
	t = t.WithOrg()
	withKey := p == Upsert
	var stmts []string
	parent := t
	if p == ParentOnly {
		parent.Children = nil // the arrays stay plain JSON columns
	}
	for _, tt := range withChildren(parent) {
		stmts = append(stmts, createTableSQL(schemaName, tt, withKey))
	}
	src := fmt.Sprintf("SELECT json::VARCHAR AS _raw, NULL::VARCHAR AS _tag, NULL::VARCHAR AS _parent, NULL::INTEGER AS _pos, 0 AS _seq, %s AS _org FROM read_json_objects(%s)",
		quoteString(org), quoteString(file))
	if hasCustom(t) {
		src = customFromRawSQL(src)
	}
	target := qualified(schemaName, t.Name)
	run := "1"
	if p == ParentOnly {
		typed := "(" + typedSelectSQL(parent, src) + ")"
		return append(stmts, bindRun(insertSQL(target, parent, typed, false), run))
	}
	typed := typedSelectSQL(t, src)
	if p == Upsert {
		typed = dedupeSQL(t, typed)
	}
	stmts = append(stmts, "BEGIN TRANSACTION", "CREATE OR REPLACE TEMP TABLE _typed AS "+typed)
	if p == Upsert {
		stmts = append(stmts, replaceStoredSQL(target, t, "_typed"))
	}
	stmts = append(stmts, bindRun(insertSQL(target, t, "_typed", false), run))
	parentKey := t.IDKey()[0]
	for _, ch := range t.Children {
		csrc := childSourceSQL(parentKey, ch.Field, "_typed", org)
		if hasCustom(ch.Table) {
			csrc = customFromRawSQL(csrc)
		}
		stmts = append(stmts, bindRun(insertSQL(qualified(schemaName, ch.Table.Name), ch.Table,
			"("+typedSelectSQL(ch.Table, csrc)+")", p == Upsert), run))
	}
	return append(stmts, "DROP TABLE _typed", "COMMIT")
}

// childSourceSQL flattens the child array column of each parent row in the
// temp table parents into (_raw, _custom, _tag, _parent, _pos, _seq, _org)
// rows: how closesync wrote child tables before they became views over
// their parent's _raw (childViewSQL), kept as pipelines (b) and (c) of the
// benchmark, DuckDB materialising the children.
func childSourceSQL(parentKey string, field string, parents, org string) string {
	return fmt.Sprintf(`SELECT unnest(arr)::VARCHAR AS _raw, NULL::VARCHAR AS _custom, NULL::VARCHAR AS _tag, _parent, unnest(range(len(arr)))::INTEGER AS _pos, 0 AS _seq, %s AS _org
FROM (SELECT %s AS _parent, coalesce(%s, []::JSON[]) AS arr FROM %s)`,
		quoteString(org), quoteIdent(parentKey), quoteIdent(childColumn(field)), parents)
}

// bindRun puts the run id in place of insertSQL's one parameter.
func bindRun(q, run string) string {
	return strings.Replace(q, "$1", run, 1)
}

// StoredColumns are the columns of t (WithOrg applied) as stored.
func StoredColumns(t schema.Table) []string { return storedColumns(t.WithOrg()) }

// QuoteIdent quotes a DuckDB identifier.
func QuoteIdent(s string) string { return quoteIdent(s) }
