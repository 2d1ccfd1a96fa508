package load_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

var usersTable = schema.Table{Name: "users", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: schema.Text},
	{Name: "first_name", Type: schema.Text}, {Name: "last_name", Type: schema.Text},
	{Name: "full_name", Type: schema.Text, Source: schema.FromJoin, Parts: []string{"first_name", "last_name"}}}}

// TestUserFieldNames: users.full_name joins first and last name (either
// may be missing), and a user field in a _custom view is followed by its
// user's name, a multi-value one by its users' names in the field's order;
// an unknown id has no name.
func TestUserFieldNames(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "x", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	run := load.Run{ID: id, Account: "main", Org: "orga_1", Report: "x"}
	apply := func(tab schema.Table, mode schema.WriteMode, recs ...schema.Record) {
		t.Helper()
		if err := s.EnsureTable(ctx, tab, mode, "orga_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, run, tab, schema.Upsert, load.Batch{Records: recs}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
	}
	raw := func(s string) schema.Record { return schema.Record{Raw: []byte(s)} }
	apply(usersTable, schema.Upsert, raw(`{"id":"u1","first_name":"Ada","last_name":"Lovelace"}`),
		raw(`{"id":"u2","first_name":"Grace","last_name":""}`), raw(`{"id":"u3","last_name":"Hopper"}`), raw(`{"id":"u4"}`))
	def := func(id, name, typ string, multi bool) schema.Record {
		return schema.Record{Raw: []byte(fmt.Sprintf(`{"id":%q,"name":%q,"type":%q,"accepts_multiple_values":%v}`, id, name, typ, multi)), Tag: "contact"}
	}
	apply(customFieldsTable, schema.Upsert, def("cf_o", "Owner", "user", false), def("cf_t", "Team", "user", true))
	apply(contacts, schema.Upsert, schema.Record{Raw: []byte(`{"id":"c1","date_updated":"2024-01-01T00:00:00Z"}`),
		Custom: []byte(`{"cf_o":"u1","cf_t":["u3","u1","u9"]}`)},
		schema.Record{Raw: []byte(`{"id":"c2","date_updated":"2024-01-01T00:00:00Z"}`), Custom: []byte(`{"cf_o":"u9"}`)})
	if err := s.RefreshCustomViews(ctx, customFieldsTable.Name, []schema.Table{customOf(contacts, "contact")}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(dump(t, s, `SELECT string_agg(id || '=' || coalesce(full_name, '-'), ' ' ORDER BY id) FROM close.users`), ""); got != "u1=Ada Lovelace u2=Grace u3=Hopper u4=-" {
		t.Errorf("full names: %s", got)
	}
	got := dump(t, s, `SELECT id, "Owner", coalesce("Owner (name)", '-'), coalesce("Team (name)"::VARCHAR, '-') FROM close.contacts_custom ORDER BY id`)
	if want := "c1|u1|Ada Lovelace|[Hopper, Ada Lovelace],c2|u9|-|-"; strings.Join(got, ",") != want {
		t.Errorf("contacts_custom = %v, want %s", got, want)
	}
}
