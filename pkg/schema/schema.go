// Package schema is the contract between extraction and loading. It
// describes closesync's data tables: columns of logical types (Type)
// extracted from each record's JSON, keys, the child tables flattened from
// nested arrays, which events delete their rows (DeleteRule) and which
// custom fields apply to them; and what flows between the two sides: a
// Record, a WriteMode and a Bookmark. The report catalog (pkg/extract)
// declares tables with these types and the loader (pkg/load) turns them
// into DDL and SQL, so neither needs to know about the other.
package schema

import (
	"fmt"
	"regexp"
)

// Source says where a column's value comes from.
type Source int

const (
	// FromJSON extracts the value at Path from the record's JSON (the default).
	FromJSON Source = iota
	// FromCustom is the record's custom fields as a JSON object (field id -> value),
	// gathered from the flat "custom.cf_*" keys by the extractor.
	FromCustom
	// FromParent is the key of the parent record (child tables only).
	FromParent
	// FromPosition is the 0-based position of the item in its parent's array
	// (child tables only).
	FromPosition
	// FromTag is a value the extractor attaches to each record that the API
	// does not put in the object itself, such as the object type a custom
	// field definition was listed under.
	FromTag
	// FromOrg is the organization the row came from: the id of the Close
	// organization of the account that synced it (see WithOrg).
	FromOrg
	// FromJoin joins the text values of the table's columns named in Parts
	// with a space, leaving out empty ones (NULL when all are): a full name
	// from first_name and last_name.
	FromJoin
)

// Column is one typed column of a data table.
type Column struct {
	Name   string
	Type   Type
	Path   string // JSON key (or dotted path) in the record; empty means Name
	Source Source
	// Parts are the columns a FromJoin column joins.
	Parts []string
	// Description says what the column holds, units included; the loader
	// writes it as the column's comment (COMMENT ON COLUMN).
	Description string
}

// JSONPath returns the key path the column reads, defaulting to its name.
func (c Column) JSONPath() string {
	if c.Path != "" {
		return c.Path
	}
	return c.Name
}

// Table is a data table: typed columns plus the system columns every table has
// (_raw, _synced_at, _run_id, _deleted_at), which are not listed here.
type Table struct {
	Name string
	// Description says what a row is; the loader writes it as the table's
	// (or child view's) comment.
	Description string
	Columns     []Column
	// Key lists the primary-key columns. For child tables it is the parent
	// column and the position column (the key of a view: unique, not
	// enforced).
	Key []string
	// Order is the column whose larger value marks the newer version of a row
	// (the replication key, e.g. date_updated). Empty means the later record
	// wins.
	Order string
	// Children are flattened from arrays of each record; the loader
	// makes them views over the parent's stored JSON, so they change with
	// their parent row.
	Children []Child
	// Deletes, when set, says which events of the event log soft-delete
	// the table's rows; nil: none do.
	Deletes *DeleteRule
	// CustomFieldTypes are the Close custom-field object types ("lead",
	// "shared" ...) whose definitions apply to the table's custom column:
	// the fields its <table>_custom view shows. Empty: no view.
	CustomFieldTypes []string
}

// Child is a table flattened from an array field of its parent's records.
type Child struct {
	Table Table
	// Field is the array's key in the parent record (e.g. "emails").
	Field string
	// Optional marks a field the parent may not carry at all: zero rows is
	// then normal, not a sign of trouble.
	Optional bool
}

// Column returns the named column.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// ParentColumn returns the column holding the parent key of a child table.
func (t Table) ParentColumn() (Column, bool) {
	for _, c := range t.Columns {
		if c.Source == FromParent {
			return c, true
		}
	}
	return Column{}, false
}

// System column names present on every data table.
const (
	ColRaw      = "_raw"
	ColSyncedAt = "_synced_at"
	ColRunID    = "_run_id"
	ColDeleted  = "_deleted_at"
	ColPosition = "_position"
	// ColOrg is the organization column every data table has (WithOrg).
	ColOrg = "organization_id"
)

// SystemColumnDocs describe the system columns, for their comments.
var SystemColumnDocs = map[string]string{
	ColRaw:      "The record exactly as the Close API returned it (JSON); every other column is extracted from it.",
	ColSyncedAt: "When closesync last wrote this row (UTC).",
	ColRunID:    "The sync.runs run that last wrote this row.",
	ColDeleted:  "When closesync saw this row deleted in Close (UTC, from the event log); NULL while the row is live. The live schema's views leave deleted rows out.",
	ColPosition: "0-based position of the item in its parent's array.",
	ColOrg:      "Close organization the row belongs to (orga_...): the organization of the API key that synced it.",
}

// WithOrg returns the table as closesync stores it: with the column
// organization_id holding the organization the row came from, first in the
// primary key, so that two organizations synced into one file never share
// a row (their statuses, users and custom fields are their own). A column
// organization_id the records carry themselves (reporting rows, statuses)
// takes the account's organization instead, which is the same id; a child
// whose parent key is the organization id keeps it. Children get the same
// treatment.
func (t Table) WithOrg() Table {
	out := t
	out.Columns = make([]Column, 0, len(t.Columns)+1)
	has := false
	for _, c := range t.Columns {
		if c.Name == ColOrg {
			has = true
			if c.Source == FromJSON {
				c = Column{Name: ColOrg, Type: Text, Source: FromOrg}
			}
		}
		out.Columns = append(out.Columns, c)
	}
	if !has {
		out.Columns = append([]Column{{Name: ColOrg, Type: Text, Source: FromOrg}}, out.Columns...)
	}
	if len(t.Key) == 0 || !containsName(t.Key, ColOrg) {
		out.Key = append([]string{ColOrg}, t.Key...)
	}
	if len(t.Children) > 0 {
		out.Children = make([]Child, len(t.Children))
		for i, ch := range t.Children {
			ch.Table = ch.Table.WithOrg()
			out.Children[i] = ch
		}
	}
	return out
}

// IDKey is the key without organization_id: the columns that name a row
// within its organization (["id"] for most tables).
func (t Table) IDKey() []string {
	var out []string
	for _, k := range t.Key {
		if k != ColOrg {
			out = append(out, k)
		}
	}
	return out
}

func containsName(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Validate checks that the table is well formed: safe identifiers, known
// types, key and order columns present. Catalog tests call it for every table.
func (t Table) Validate() error {
	if !identRE.MatchString(t.Name) {
		return fmt.Errorf("table %q: name must match %s", t.Name, identRE)
	}
	seen := map[string]bool{}
	for _, c := range t.Columns {
		if !identRE.MatchString(c.Name) {
			return fmt.Errorf("table %s: column %q: name must match %s", t.Name, c.Name, identRE)
		}
		if seen[c.Name] {
			return fmt.Errorf("table %s: column %q declared twice", t.Name, c.Name)
		}
		seen[c.Name] = true
		if !c.Type.Valid() {
			return fmt.Errorf("table %s: column %s: unknown type %d", t.Name, c.Name, int(c.Type))
		}
	}
	for _, c := range t.Columns {
		if (c.Source == FromJoin) != (len(c.Parts) > 0) {
			return fmt.Errorf("table %s: column %s: parts go with source FromJoin only", t.Name, c.Name)
		}
		for _, p := range c.Parts {
			if pc, ok := t.Column(p); !ok || pc.Source != FromJSON || pc.Type != Text {
				return fmt.Errorf("table %s: column %s: part %q is not a text column read from the record", t.Name, c.Name, p)
			}
		}
	}
	if len(t.Key) == 0 {
		return fmt.Errorf("table %s: no key columns", t.Name)
	}
	for _, k := range t.Key {
		if !seen[k] {
			return fmt.Errorf("table %s: key column %q is not a column", t.Name, k)
		}
	}
	if t.Order != "" && !seen[t.Order] {
		return fmt.Errorf("table %s: order column %q is not a column", t.Name, t.Order)
	}
	if err := t.validateDeletes(seen); err != nil {
		return err
	}
	if len(t.CustomFieldTypes) > 0 && !t.hasSource(FromCustom) {
		return fmt.Errorf("table %s: custom field types declared without a custom column", t.Name)
	}
	for _, ch := range t.Children {
		if _, ok := ch.Table.ParentColumn(); !ok {
			return fmt.Errorf("table %s: child %s has no parent column", t.Name, ch.Table.Name)
		}
		if err := ch.Table.Validate(); err != nil {
			return err
		}
	}
	return nil
}

func (t Table) validateDeletes(columns map[string]bool) error {
	d := t.Deletes
	if d == nil {
		return nil
	}
	if d.ObjectType == "" {
		return fmt.Errorf("table %s: delete rule without an object type", t.Name)
	}
	if len(t.IDKey()) != 1 {
		return fmt.Errorf("table %s: delete rule on a table without a one-column id key", t.Name)
	}
	if (d.Owner == nil) != (d.OwnerColumn == "") {
		return fmt.Errorf("table %s: delete rule: owner and owner column go together", t.Name)
	}
	if d.OwnerColumn != "" && !columns[d.OwnerColumn] {
		return fmt.Errorf("table %s: delete rule: owner column %q is not a column", t.Name, d.OwnerColumn)
	}
	if d.Owner != nil && d.Owner.ObjectType == "" {
		return fmt.Errorf("table %s: delete rule: owner without an object type", t.Name)
	}
	return nil
}

func (t Table) hasSource(s Source) bool {
	for _, c := range t.Columns {
		if c.Source == s {
			return true
		}
	}
	return false
}
