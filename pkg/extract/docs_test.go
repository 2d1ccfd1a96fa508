package extract

import (
	"strings"
	"testing"
)

// TestEveryTableAndColumnIsDescribed: the loader comments every table and
// column from these descriptions, so none may be empty.
func TestEveryTableAndColumnIsDescribed(t *testing.T) {
	t.Parallel()
	for _, r := range Catalog() {
		if strings.TrimSpace(r.Table.Description) == "" {
			t.Errorf("table %s has no description", r.Table.Name)
		}
		for _, c := range r.Table.Columns {
			if strings.TrimSpace(c.Description) == "" {
				t.Errorf("column %s.%s has no description", r.Table.Name, c.Name)
			}
		}
		for _, ch := range r.Table.Children {
			if ch.Table.Description == "" {
				t.Errorf("child table %s has no description", ch.Table.Name)
			}
			for _, c := range ch.Table.Columns {
				if c.Description == "" {
					t.Errorf("column %s.%s has no description", ch.Table.Name, c.Name)
				}
			}
		}
	}
}

// TestUnitsAreDescribed pins the descriptions an analyst most needs.
func TestUnitsAreDescribed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ table, column, want string }{
		{"opportunities", "value", "cents"},
		{"opportunities", "value_formatted", "display string"},
		{"activities_call", "duration", "seconds"},
		{"leads", "date_created", "UTC"},
		{"activities_emails", "to", `"to"`},
	} {
		r, ok := Lookup(tt.table)
		if !ok {
			t.Fatalf("no report %s", tt.table)
		}
		c, ok := r.Table.Column(tt.column)
		if !ok || !strings.Contains(c.Description, tt.want) {
			t.Errorf("%s.%s: description %q lacks %q", tt.table, tt.column, c.Description, tt.want)
		}
	}
}
