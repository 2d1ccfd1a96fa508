package load

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/closesync/closesync/pkg/schema"
)

type customField struct {
	id, name, typ, objectType, org, description string
	multi                                       bool
}

// RefreshCustomViews (re)creates <table>_custom for every one of tables
// that declares custom field types (schema.Table.CustomFieldTypes) and has
// a custom column: the table's columns plus one typed column per custom
// field of those object types, named by the field's current name in the
// table definitions (the custom_fields report's: id, name, type,
// object_type, accepts_multiple_values). A renamed field renames its column
// and a deleted one drops it; the data is never rewritten. Tables that do not exist yet,
// definitions included, are skipped.
//
// Custom field ids belong to an organization: with several in the file, a
// row's values are read with its own organization's definitions, and the
// columns are the union of all organizations' fields, one column per name
// (and type) however many organizations define it.
func (s *Store) RefreshCustomViews(ctx context.Context, definitions string, tables []schema.Table) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	existing, err := s.tableNames(ctx)
	if err != nil {
		return err
	}
	withOrg, err := s.orgTables(ctx)
	if err != nil {
		return err
	}
	if !existing[definitions] || !withOrg[definitions] {
		return nil
	}
	fields, err := s.customFields(ctx, definitions)
	if err != nil {
		return err
	}
	types := map[string][]string{}
	declared := map[string]schema.Table{}
	var names []string
	for _, t := range tables {
		if len(t.CustomFieldTypes) > 0 && existing[t.Name] {
			types[t.Name] = t.CustomFieldTypes
			declared[t.Name] = t
			names = append(names, t.Name)
		}
	}
	sort.Strings(names)
	var errs []error
	for _, table := range names {
		if !withOrg[table] {
			continue
		}
		cat, err := s.catalog(ctx)
		if err != nil {
			return err
		}
		rel := cat.table(s.schema, table)
		if rel == nil || !rel.has("custom") {
			continue
		}
		cols := rel.cols
		// One view that cannot be made must not keep the others stale.
		if existing[table+"_custom"] {
			errs = append(errs, fmt.Errorf("view %s.%s_custom not created: a table has that name", s.schema, table))
			continue
		}
		users := ""
		if existing["users"] && withOrg["users"] {
			users = qualified(s.schema, "users")
		}
		q, custom := customViewSQL(s.schema, table, cols, fields, types[table], users)
		docs := tableDocs(declared[table].WithOrg())
		for _, c := range custom {
			docs[c.name] = customFieldDoc(c)
		}
		doc := fmt.Sprintf("%s.%s with one typed column per custom field (of %s), named by the field's current name: "+
			"the view follows renames and deletions of fields.", s.schema, table, strings.Join(types[table], ", "))
		if _, err := s.ensureView(ctx, viewDef{schema: s.schema, name: table + "_custom", sql: q, doc: doc, columns: docs}); err != nil {
			errs = append(errs, err)
			continue
		}
		if declared[table].Deletes != nil {
			if err := s.liveView(ctx, table+"_custom", doc, docs); err != nil {
				errs = append(errs, err)
				continue
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Store) customFields(ctx context.Context, definitions string) ([]customField, error) {
	// The definitions the views show are those sync.custom_fields_seen
	// keeps (on_schema_change: evolve keeps Close's, freeze and fail the
	// last ones that followed it); an organization without a baseline yet
	// (a file from before schema changes were recorded) shows Close's.
	defs := qualified(s.schema, definitions)
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT id, name, type, object_type, multi, org, description FROM (
		SELECT s.id, s.name, replace(s.type, '[]', '') AS type, s.object_type, s.type LIKE '%%[]' AS multi, s.organization_id AS org,
			coalesce(json_extract_string(d._raw, '$.description'), '') AS description
		FROM sync.custom_fields_seen s LEFT JOIN %[1]s d ON d.organization_id = s.organization_id AND d.id = s.id
		UNION ALL
		SELECT id, coalesce(name, id), coalesce(type, 'text'), coalesce(object_type, ''), coalesce(accepts_multiple_values, false),
			organization_id, coalesce(json_extract_string(_raw, '$.description'), '')
		FROM %[1]s WHERE _deleted_at IS NULL
			AND organization_id NOT IN (SELECT organization_id FROM sync.schema_baselines WHERE subject = '%[2]s'))
		ORDER BY name, id, org`, defs, baselineCustomFields))
	if err != nil {
		return nil, fmt.Errorf("read custom field definitions: %w", err)
	}
	defer rows.Close()
	var out []customField
	for rows.Next() {
		var f customField
		if err := rows.Scan(&f.id, &f.name, &f.typ, &f.objectType, &f.multi, &f.org, &f.description); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// viewColumn is one column of a custom view: the fields of each
// organization that it shows.
type viewColumn struct {
	name   string
	fields []customField // one per organization, all of one type
	// user, on the name column of a user field, is that field's column.
	user *viewColumn
}

// takes reports whether f can share the column: same type, and no field of
// its organization in it yet.
func (c *viewColumn) takes(f customField) bool {
	for _, g := range c.fields {
		if g.org == f.org || g.typ != f.typ || g.multi != f.multi {
			return false
		}
	}
	return true
}

// customViewSQL builds the view; fields arrive sorted by (name, id,
// organization), so collisions resolve the same way every time: the first
// keeps the name, and so do other organizations' fields of that name and
// type (their values come from the same column); a later one of the same
// organization, another type, or one clashing with a table column gets its
// id appended (and its organization, should that clash too). With users
// (the users table; "" when it is not there) each user field is followed
// by "<column> (name)", the user's full name. It returns the view's custom
// columns with the SQL.
func customViewSQL(schemaName, table string, cols map[string]string, fields []customField, types []string, users string) (string, []*viewColumn) {
	taken := map[string]*viewColumn{}
	for c := range cols {
		taken[strings.ToLower(c)] = nil
	}
	var order []*viewColumn
	for _, f := range fields {
		if !contains(types, f.objectType) {
			continue
		}
		base := sanitizeColumn(f.name)
		for _, name := range []string{base, strings.TrimSpace(base + " (" + f.id + ")"), strings.TrimSpace(base + " (" + f.id + ", " + f.org + ")")} {
			if name == "" {
				continue
			}
			c, ok := taken[strings.ToLower(name)]
			if !ok {
				c = &viewColumn{name: name}
				taken[strings.ToLower(name)] = c
				order = append(order, c)
			} else if c == nil || !c.takes(f) {
				continue
			}
			c.fields = append(c.fields, f)
			break
		}
	}
	if users != "" {
		// Each user field gets the name of its user (or its users') beside it.
		var named []*viewColumn
		for _, c := range order {
			named = append(named, c)
			if c.fields[0].typ != "user" {
				continue
			}
			for _, name := range []string{c.name + " (name)", c.name + " (user name)"} {
				if _, ok := taken[strings.ToLower(name)]; !ok {
					n := &viewColumn{name: name, fields: c.fields, user: c}
					taken[strings.ToLower(name)] = n
					named = append(named, n)
					break
				}
			}
		}
		order = named
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE OR REPLACE VIEW %s AS SELECT t.*", qualified(schemaName, table+"_custom"))
	for _, c := range order {
		b.WriteString(", CASE t.organization_id")
		for _, f := range c.fields {
			expr := customExpr(f)
			if c.user != nil {
				expr = userNameExpr(f, users)
			}
			fmt.Fprintf(&b, " WHEN %s THEN %s", quoteString(f.org), expr)
		}
		fmt.Fprintf(&b, " END AS %s", quoteIdent(c.name))
	}
	fmt.Fprintf(&b, " FROM %s t", qualified(schemaName, table))
	return b.String(), order
}

// userFullName is a users row's full name (as users.full_name has it),
// from u's first and last name, so that it does not wait for users to be
// synced again after an upgrade.
const userFullName = "nullif(concat_ws(' ', nullif(trim(u.first_name), ''), nullif(trim(u.last_name), '')), '')"

// userNameExpr is the name of the user a user field holds, looked up in
// users (same organization); for a multi-value field, the list of names in
// the field's order.
func userNameExpr(f customField, users string) string {
	path := quoteString("$." + quoteIdent(f.id))
	if f.multi {
		ids := "from_json(json_extract(t.custom, " + path + "), '[\"VARCHAR\"]')"
		return fmt.Sprintf("(SELECT list(%s ORDER BY list_position(%s, u.id)) FROM %s u WHERE u.organization_id = t.organization_id AND list_contains(%s, u.id))",
			userFullName, ids, users, ids)
	}
	return fmt.Sprintf("(SELECT %s FROM %s u WHERE u.organization_id = t.organization_id AND u.id = json_extract_string(t.custom, %s))",
		userFullName, users, path)
}

// customExpr types a custom field's value by its definition; anything that
// does not convert is NULL here and still in the custom column.
func customExpr(f customField) string {
	path := quoteString("$." + quoteIdent(f.id))
	str := "json_extract_string(t.custom, " + path + ")"
	switch {
	case f.multi:
		return "json_extract(t.custom, " + path + ")"
	case f.typ == "number":
		return "TRY_CAST(" + str + " AS DOUBLE)"
	case f.typ == "date":
		return "TRY_CAST(left(" + str + ", 10) AS DATE)"
	case f.typ == "datetime":
		return "TRY_CAST(" + str + " AS TIMESTAMPTZ)"
	}
	return str
}

// sanitizeColumn makes a field name usable as a column: control characters
// dropped, runs of white space collapsed.
func sanitizeColumn(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)
	return strings.Join(strings.Fields(name), " ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
