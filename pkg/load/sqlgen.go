package load

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// quoteIdent quotes a SQL identifier for DuckDB.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteString quotes a SQL string literal.
func quoteString(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}

// qualified returns schema.table, both quoted.
func qualified(schemaName, table string) string {
	return quoteIdent(schemaName) + "." + quoteIdent(table)
}

// transformSpec builds the json_transform structure for a table's JSON
// columns: every leaf is VARCHAR (or JSON for JSON and list columns) so that
// json_transform never fails on a surprising value; typing happens afterwards
// with TRY_CAST.
func transformSpec(t schema.Table) string {
	root := map[string]any{}
	for _, c := range t.Columns {
		if c.Source != schema.FromJSON {
			continue
		}
		leaf := "VARCHAR"
		switch c.Type {
		case schema.JSON:
			leaf = "JSON"
		case schema.TextList:
			leaf = "VARCHAR[]"
		default:
			// Every other type is read as text and cast afterwards.
		}
		parts := strings.Split(c.JSONPath(), ".")
		node := root
		for i, p := range parts {
			if i == len(parts)-1 {
				node[p] = leaf
				break
			}
			child, ok := node[p].(map[string]any)
			if !ok {
				child = map[string]any{}
				node[p] = child
			}
			node = child
		}
	}
	// Child arrays are extracted in the same pass as JSON lists, so
	// flattening them never parses the parent again.
	for _, ch := range t.Children {
		root[ch.Field] = "JSON[]"
	}
	if len(root) == 0 {
		// json_transform needs at least one field; id is as good as any.
		root["id"] = "VARCHAR"
	}
	b, err := json.Marshal(root)
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return string(b)
}

// columnExpr is the SQL producing a column's typed value from the staging
// subquery, whose columns are j (the json_transform struct), _custom, _tag,
// _parent, _pos and _org.
func columnExpr(c schema.Column) string {
	switch c.Source {
	case schema.FromCustom:
		return "TRY_CAST(_custom AS JSON)"
	case schema.FromParent:
		return "_parent"
	case schema.FromPosition:
		return "_pos"
	case schema.FromTag:
		return "_tag"
	case schema.FromOrg:
		return "_org"
	case schema.FromJoin:
		parts := make([]string, len(c.Parts))
		for i, p := range c.Parts {
			parts[i] = "nullif(trim(j." + quoteIdent(p) + "), '')"
		}
		return "nullif(concat_ws(' ', " + strings.Join(parts, ", ") + "), '')"
	case schema.FromJSON:
		// Read at its path in j, below.
	}
	ref := "j"
	for _, p := range strings.Split(c.JSONPath(), ".") {
		ref += "." + quoteIdent(p)
	}
	switch c.Type {
	case schema.Text, schema.JSON, schema.TextList:
		return ref
	case schema.Date:
		// Close sends dates both as "2021-07-16" and as midnight date-times.
		return "TRY_CAST(left(" + ref + ", 10) AS DATE)"
	default:
		return "TRY_CAST(" + ref + " AS " + duckType(c.Type) + ")"
	}
}

// createTableSQL is the DDL of a data table. Tables written in append mode
// keep every version and so have no primary key.
func createTableSQL(schemaName string, t schema.Table, withKey bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", qualified(schemaName, t.Name))
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "    %s %s,\n", quoteIdent(c.Name), duckType(c.Type))
	}
	for _, c := range systemColumns {
		fmt.Fprintf(&b, "    %s %s,\n", quoteIdent(c.Name), duckType(c.Type))
	}
	if withKey {
		fmt.Fprintf(&b, "    PRIMARY KEY (%s)\n", identList(t.Key))
	} else {
		s := b.String()
		b.Reset()
		b.WriteString(strings.TrimSuffix(s, ",\n") + "\n")
	}
	b.WriteString(")")
	return b.String()
}

var systemColumns = []schema.Column{
	{Name: schema.ColRaw, Type: schema.JSON},
	{Name: schema.ColSyncedAt, Type: schema.Timestamp},
	{Name: schema.ColRunID, Type: schema.BigInt},
	{Name: schema.ColDeleted, Type: schema.Timestamp},
}

func identList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

func columnNames(t schema.Table) []string {
	names := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		names = append(names, c.Name)
	}
	return names
}

// childColumn names the hidden column of _typed holding a child array.
func childColumn(field string) string { return "_child_" + field }

// typedSelectSQL selects the typed columns, _raw, _seq and one JSON[]
// column per child array from a source query exposing _raw (VARCHAR),
// _custom, _tag, _parent, _pos, _seq and _org (the organization the rows
// came from).
func typedSelectSQL(t schema.Table, source string) string {
	return typedSelectWith(t, source, "_seq")
}

// typedSelectWith is typedSelectSQL passing the source's columns pass
// through (typedSelectSQL's is _seq).
func typedSelectWith(t schema.Table, source string, pass ...string) string {
	childFields := map[string]bool{}
	for _, ch := range t.Children {
		childFields[ch.Field] = true
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	for _, c := range t.Columns {
		expr := columnExpr(c)
		if c.Source == schema.FromJSON && c.Type == schema.JSON && childFields[c.JSONPath()] {
			// The spec extracted this field as a list for its child table.
			expr = "to_json(" + expr + ")"
		}
		fmt.Fprintf(&b, "%s AS %s, ", expr, quoteIdent(c.Name))
	}
	for _, ch := range t.Children {
		fmt.Fprintf(&b, "j.%s AS %s, ", quoteIdent(ch.Field), quoteIdent(childColumn(ch.Field)))
	}
	passed := identList(pass)
	fmt.Fprintf(&b, "_raw::JSON AS %s, %s FROM (SELECT json_transform(_raw, %s) AS j, _raw, _custom, _tag, _parent, _pos, _org, %s FROM (%s))",
		quoteIdent(schema.ColRaw), passed, quoteString(transformSpec(t)), passed, source)
	return b.String()
}

// withoutChildren is t as its own table is written: the arrays of its
// children stay plain columns, since the child tables are views over its
// _raw (childViewSQL).
func withoutChildren(t schema.Table) schema.Table {
	t.Children = nil
	return t
}

// childArraySQL is the array field of the parent's JSON raw (an SQL
// expression) as a JSON[], extracted as the parent's json_transform spec
// extracts a child's array; a field that is missing or not an array is the
// empty list.
func childArraySQL(raw, field string) string {
	spec, err := json.Marshal(map[string]string{field: "JSON[]"})
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return fmt.Sprintf("coalesce(json_transform(%s, %s).%s, []::JSON[])", raw, quoteString(string(spec)), quoteIdent(field))
}

// childItemsSQL counts the items of all of t's child arrays in the JSON
// raw (an SQL expression): the rows of t's child views that a row of t
// holds. Children not in have (the views that exist) are not counted; "0"
// when none is.
func childItemsSQL(t schema.Table, raw string, have map[string]bool) string {
	var terms []string
	for _, ch := range t.Children {
		if have[ch.Table.Name] {
			terms = append(terms, "len("+childArraySQL(raw, ch.Field)+")")
		}
	}
	if len(terms) == 0 {
		return "0"
	}
	return strings.Join(terms, " + ")
}

// childPassColumns are the parent's system columns a child view shows as
// its own.
var childPassColumns = []string{schema.ColSyncedAt, schema.ColRunID, schema.ColDeleted}

// childViewSQL creates the view of the child table ch of parent (both with
// organization_id, WithOrg) in schemaName: one row per item of the array
// in each parent row's _raw, typed by the generators that type a table
// (typedSelectWith), with the parent's key, the item's _position, the item
// as _raw and the parent row's _synced_at, _run_id and _deleted_at. Its
// columns and their types are those a child table had (createTableSQL).
func childViewSQL(schemaName string, parent schema.Table, ch schema.Child) string {
	passed := make([]string, len(childPassColumns))
	for i, c := range childPassColumns {
		passed[i] = "p." + quoteIdent(c)
	}
	src := fmt.Sprintf(`SELECT unnest(arr)::VARCHAR AS _raw, NULL::VARCHAR AS _custom, NULL::VARCHAR AS _tag, _parent,
	unnest(range(len(arr)))::INTEGER AS _pos, _org, %s
FROM (SELECT p.%s AS _parent, p.%s AS _org, %s AS arr, %s FROM %s p)`,
		identList(childPassColumns), quoteIdent(parent.IDKey()[0]), quoteIdent(schema.ColOrg),
		childArraySQL("p."+quoteIdent(schema.ColRaw), ch.Field), strings.Join(passed, ", "), qualified(schemaName, parent.Name))
	if hasCustom(ch.Table) {
		src = customFromRawSQL(src, childPassColumns...)
	}
	typed := typedSelectWith(ch.Table, src, childPassColumns...)
	return fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT %s FROM (%s)",
		qualified(schemaName, ch.Table.Name), identList(storedColumns(ch.Table)), typed)
}

// dedupeSQL keeps one row per key: the newest by the order column, then the
// latest in the batch.
func dedupeSQL(t schema.Table, typed string) string {
	order := "_seq DESC"
	if t.Order != "" {
		order = quoteIdent(t.Order) + " DESC NULLS LAST, _seq DESC"
	}
	return fmt.Sprintf("SELECT * FROM (%s) QUALIFY row_number() OVER (PARTITION BY %s ORDER BY %s) = 1",
		typed, identList(t.Key), order)
}

// keyMatch is "a.k1 = b.k1 AND a.k2 = b.k2".
func keyMatch(t schema.Table, a, b string) string {
	parts := make([]string, len(t.Key))
	for i, k := range t.Key {
		parts[i] = a + "." + quoteIdent(k) + " = " + b + "." + quoteIdent(k)
	}
	return strings.Join(parts, " AND ")
}

// replaceStoredSQL deletes the stored rows of target whose key is in the
// temp table src, so that a plain insertSQL of src upserts it (soft
// deletes cleared: the new rows' _deleted_at is NULL). It is how Apply
// upserts, in place of INSERT ... ON CONFLICT DO UPDATE: DuckDB keeps an
// in-place update of a checkpointed row in memory it cannot evict until
// the next checkpoint (duckdb_memory()'s ALLOCATOR grew 4-8 MB a batch of
// 600 leads), so a run re-reading a 90,000-lead table ran out of its
// memory_limit on its second batch, where deleted rows are a bitmask and
// the new versions appended blocks DuckDB evicts (README "Memory").
func replaceStoredSQL(target string, t schema.Table, src string) string {
	return fmt.Sprintf("DELETE FROM %s t WHERE EXISTS (SELECT 1 FROM %s s WHERE %s)", target, src, keyMatch(t, "t", "s"))
}

// insertSQL inserts rows of the temp table src into target. With upsert, an
// existing key is updated and its soft delete cleared (ON CONFLICT: only
// the benchmark's historical child-table pipelines; Apply upserts with
// replaceStoredSQL and a plain insert).
func insertSQL(target string, t schema.Table, src string, upsert bool) string {
	cols := append(columnNames(t), schema.ColRaw)
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s, %s, %s, %s) SELECT %s, now(), $1, NULL FROM %s",
		target, identList(cols), quoteIdent(schema.ColSyncedAt), quoteIdent(schema.ColRunID), quoteIdent(schema.ColDeleted),
		identList(cols), src)
	if !upsert {
		return b.String()
	}
	fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", identList(t.Key))
	var sets []string
	keys := map[string]bool{}
	for _, k := range t.Key {
		keys[k] = true
	}
	for _, c := range cols {
		if !keys[c] {
			sets = append(sets, quoteIdent(c)+" = EXCLUDED."+quoteIdent(c))
		}
	}
	sets = append(sets,
		quoteIdent(schema.ColSyncedAt)+" = EXCLUDED."+quoteIdent(schema.ColSyncedAt),
		quoteIdent(schema.ColRunID)+" = EXCLUDED."+quoteIdent(schema.ColRunID),
		quoteIdent(schema.ColDeleted)+" = NULL")
	b.WriteString(strings.Join(sets, ", "))
	return b.String()
}

// stageSourceSQL is the source of typedSelectSQL for the staged batch of
// the organization org.
func stageSourceSQL(org string) string {
	return "SELECT _raw, _custom, _tag, _parent, _pos, _seq, " + quoteString(org) + " AS _org FROM _stage"
}

// orgIs is the condition "alias.organization_id = org" (alias may be "").
func orgIs(alias, org string) string {
	col := quoteIdent(schema.ColOrg)
	if alias != "" {
		col = alias + "." + col
	}
	return col + " = " + quoteString(org)
}

// storedColumns are the columns of t as stored: its own, then the system
// columns.
func storedColumns(t schema.Table) []string {
	names := columnNames(t)
	for _, c := range systemColumns {
		names = append(names, c.Name)
	}
	return names
}

// customFromRawSQL fills _custom of a source's rows from their own _raw:
// Close's flat "custom.<field id>" keys gathered into one object keyed by
// field id (NULL when there are none), as the extractor does for root
// records. Child items (a lead's embedded contacts and opportunities)
// carry their custom fields that way too. The source's columns pass go
// through besides those of typedSelectWith's source; none: _seq.
func customFromRawSQL(source string, pass ...string) string {
	if len(pass) == 0 {
		pass = []string{"_seq"}
	}
	return fmt.Sprintf(`SELECT _raw, (SELECT CASE WHEN count(*) > 0 THEN json_group_object(substr(k, 8),
	json_extract(_raw::JSON, '$."' || k || '"'))::VARCHAR END
	FROM unnest(json_keys(_raw::JSON)) AS u(k) WHERE starts_with(k, 'custom.') AND NOT contains(k, '"')) AS _custom,
	_tag, _parent, _pos, _org, %s FROM (%s)`, identList(pass), source)
}

// hasCustom reports whether t has a custom column.
func hasCustom(t schema.Table) bool {
	for _, c := range t.Columns {
		if c.Source == schema.FromCustom {
			return true
		}
	}
	return false
}
