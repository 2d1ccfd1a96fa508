package schema

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func contacts() Table {
	return Table{
		Name: "contacts",
		Columns: []Column{
			{Name: "id", Type: Text}, {Name: "lead_id", Type: Text}, {Name: "date_updated", Type: Timestamp},
			{Name: "custom", Type: JSON, Source: FromCustom},
		},
		Key:   []string{"id"},
		Order: "date_updated",
		Children: []Child{{Field: "emails", Table: Table{
			Name: "contacts_emails",
			Columns: []Column{
				{Name: "contact_id", Type: Text, Source: FromParent}, {Name: ColPosition, Type: Integer, Source: FromPosition},
				{Name: "email", Type: Text},
			},
			Key: []string{"contact_id", ColPosition},
		}}},
	}
}

func TestValidate(t *testing.T) {
	lead := &DeleteRule{ObjectType: "lead", MergeSource: "merge_source_lead_id"}
	for _, tt := range []struct {
		name   string
		change func(*Table)
		want   string // "" is valid
	}{
		{"valid", func(*Table) {}, ""},
		{"valid with rules", func(t *Table) {
			t.Deletes = &DeleteRule{ObjectType: "contact", Owner: lead, OwnerColumn: "lead_id"}
			t.CustomFieldTypes = []string{"contact", "shared"}
		}, ""},
		{"valid join", func(t *Table) {
			t.Columns = append(t.Columns, Column{Name: "full", Type: Text, Source: FromJoin, Parts: []string{"lead_id", "id"}})
		}, ""},
		{"join of a missing column", func(t *Table) {
			t.Columns = append(t.Columns, Column{Name: "full", Type: Text, Source: FromJoin, Parts: []string{"nope"}})
		}, `part "nope" is not a text column`},
		{"join without parts", func(t *Table) { t.Columns = append(t.Columns, Column{Name: "full", Type: Text, Source: FromJoin}) },
			"parts go with source FromJoin only"},
		{"bad table name", func(t *Table) { t.Name = "Contacts" }, "name must match"},
		{"bad column name", func(t *Table) { t.Columns[1].Name = "lead id" }, `column "lead id": name must match`},
		{"duplicate column", func(t *Table) { t.Columns[1].Name = "id" }, `column "id" declared twice`},
		{"no type", func(t *Table) { t.Columns[1].Type = 0 }, "column lead_id: unknown type"},
		{"unknown type", func(t *Table) { t.Columns[1].Type = TextList + 1 }, "column lead_id: unknown type"},
		{"no key", func(t *Table) { t.Key = nil }, "no key columns"},
		{"key not a column", func(t *Table) { t.Key = []string{"uid"} }, `key column "uid" is not a column`},
		{"order not a column", func(t *Table) { t.Order = "date_created" }, `order column "date_created" is not a column`},
		{"child without parent column", func(t *Table) { t.Children[0].Table.Columns[0].Source = FromJSON },
			"child contacts_emails has no parent column"},
		{"child invalid", func(t *Table) { t.Children[0].Table.Key = []string{"nope"} }, "table contacts_emails: key column"},
		{"delete rule without object type", func(t *Table) { t.Deletes = &DeleteRule{} }, "delete rule without an object type"},
		{"owner without column", func(t *Table) { t.Deletes = &DeleteRule{ObjectType: "contact", Owner: lead} },
			"owner and owner column go together"},
		{"owner column not a column", func(t *Table) {
			t.Deletes = &DeleteRule{ObjectType: "contact", Owner: lead, OwnerColumn: "parent_id"}
		}, `owner column "parent_id" is not a column`},
		{"delete rule on a composite key", func(t *Table) {
			t.Key = []string{"id", "lead_id"}
			t.Deletes = &DeleteRule{ObjectType: "contact"}
		}, "one-column id key"},
		{"custom field types without custom column", func(t *Table) {
			t.Columns = t.Columns[:3]
			t.CustomFieldTypes = []string{"contact"}
		}, "without a custom column"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := contacts()
			tt.change(&tab)
			err := tab.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestWithOrg(t *testing.T) {
	tab := contacts()
	tab.Deletes = &DeleteRule{ObjectType: "contact"}
	got := tab.WithOrg()
	if !reflect.DeepEqual(got.Columns[0], Column{Name: ColOrg, Type: Text, Source: FromOrg}) {
		t.Errorf("first column = %+v, want organization_id from the org", got.Columns[0])
	}
	if !slices.Equal(got.Key, []string{ColOrg, "id"}) {
		t.Errorf("key = %v", got.Key)
	}
	if ch := got.Children[0].Table; !slices.Equal(ch.Key, []string{ColOrg, "contact_id", ColPosition}) || ch.Columns[0].Name != ColOrg {
		t.Errorf("child = %+v", ch)
	}
	if got.Deletes != tab.Deletes {
		t.Error("the delete rule is lost")
	}
	if err := got.Validate(); err != nil {
		t.Errorf("WithOrg table invalid: %v", err)
	}
	// The original is untouched.
	if len(tab.Columns) != 4 || !slices.Equal(tab.Key, []string{"id"}) || len(tab.Children[0].Table.Columns) != 3 {
		t.Errorf("WithOrg changed its receiver: %+v", tab)
	}
	// Applying it twice changes nothing more.
	if again := got.WithOrg(); !slices.Equal(again.Key, got.Key) || len(again.Columns) != len(got.Columns) {
		t.Errorf("WithOrg twice: key %v, %d columns", again.Key, len(again.Columns))
	}

	// A record's own organization_id column takes the account's organization.
	statuses := Table{Name: "lead_statuses", Columns: []Column{{Name: "id", Type: Text}, {Name: ColOrg, Type: Text}}, Key: []string{"id"}}
	got = statuses.WithOrg()
	if len(got.Columns) != 2 || !reflect.DeepEqual(got.Columns[1], Column{Name: ColOrg, Type: Text, Source: FromOrg}) || !slices.Equal(got.Key, []string{ColOrg, "id"}) {
		t.Errorf("statuses = %+v", got)
	}
	// A child keyed by the organization id keeps its parent column.
	members := Table{Name: "organizations_memberships", Columns: []Column{{Name: ColOrg, Type: Text, Source: FromParent},
		{Name: ColPosition, Type: Integer, Source: FromPosition}}, Key: []string{ColOrg, ColPosition}}
	got = members.WithOrg()
	if got.Columns[0].Source != FromParent || !slices.Equal(got.Key, members.Key) {
		t.Errorf("memberships = %+v", got)
	}
}

func TestIDKey(t *testing.T) {
	for _, tt := range []struct{ key, want []string }{
		{[]string{"id"}, []string{"id"}},
		{[]string{ColOrg, "id"}, []string{"id"}},
		{[]string{ColOrg, "date", "user_id"}, []string{"date", "user_id"}},
		{[]string{ColOrg}, nil},
	} {
		if got := (Table{Key: tt.key}).IDKey(); !slices.Equal(got, tt.want) {
			t.Errorf("IDKey(%v) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestTypes(t *testing.T) {
	for ty := Text; ty <= TextList; ty++ {
		if !ty.Valid() || ty.String() == "invalid" {
			t.Errorf("type %d: valid %v, name %q", int(ty), ty.Valid(), ty)
		}
	}
	if Type(0).Valid() || Type(0).String() != "invalid" {
		t.Error("the zero type is valid")
	}
	if Timestamp.String() != "timestamp" || TextList.String() != "text[]" {
		t.Errorf("names: %s, %s", Timestamp, TextList)
	}
}
