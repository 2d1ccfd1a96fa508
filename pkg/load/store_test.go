package load_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

var contacts = schema.Table{
	Name: "contacts",
	Columns: []schema.Column{
		{Name: "id", Type: schema.Text},
		{Name: "name", Type: schema.Text},
		{Name: "n", Type: schema.BigInt},
		{Name: "date_updated", Type: schema.Timestamp},
		{Name: "custom", Type: schema.JSON, Source: schema.FromCustom},
	},
	Key:   []string{"id"},
	Order: "date_updated",
	Children: []schema.Child{{Field: "emails", Table: schema.Table{
		Name: "contacts_emails",
		Columns: []schema.Column{
			{Name: "contact_id", Type: schema.Text, Source: schema.FromParent},
			{Name: "_position", Type: schema.Integer, Source: schema.FromPosition},
			{Name: "email", Type: schema.Text},
			{Name: "type", Type: schema.Text},
		},
		Key: []string{"contact_id", "_position"},
	}}},
}

func open(t *testing.T, path string) *load.Store {
	t.Helper()
	s, err := load.Open(context.Background(), load.Options{Path: path, Migrations: closesync.SQL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// bookmark parses a bookmark's text.
func bookmark(s string) schema.Bookmark {
	b, err := schema.ParseBookmark(s)
	if err != nil {
		panic(err)
	}
	return b
}

func rec(id, name string, n int, updated string, emails ...string) schema.Record {
	var es []string
	for _, e := range emails {
		es = append(es, fmt.Sprintf(`{"email":%q,"type":"office"}`, e))
	}
	return schema.Record{Raw: []byte(fmt.Sprintf(`{"id":%q,"name":%q,"n":%d,"date_updated":%q,"emails":[%s],"extra":{"kept":true}}`,
		id, name, n, updated, strings.Join(es, ","))), Custom: []byte(`{"cf_1":"x"}`)}
}

// beginContacts creates the contacts table and begins a manual run of it.
func beginContacts(t *testing.T, s *load.Store) load.Run {
	t.Helper()
	ctx := context.Background()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	return load.Run{ID: id, Account: "main", Report: "contacts"}
}

func dump(t *testing.T, s *load.Store, q string) []string {
	t.Helper()
	var out []string
	err := s.Query(context.Background(), func(rows *sql.Rows) error {
		_, all, err := load.ScanAll(rows)
		if err != nil {
			return err
		}
		for _, vals := range all {
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			out = append(out, strings.Join(parts, "|"))
		}
		return nil
	}, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func TestApplyUpsertDedupeAndOrder(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	run := load.Run{ID: id, Account: "main", Report: "contacts"}
	steps := []struct {
		name    string
		batch   []schema.Record
		want    []string
		emails  []string
		written int64
	}{
		{"first load", []schema.Record{rec("c1", "a", 1, "2024-01-01T00:00:00+00:00", "a@x", "b@x"), rec("c2", "b", 1, "2024-01-01T00:00:00+00:00")},
			[]string{"c1|a|1", "c2|b|1"}, []string{"c1|0|a@x", "c1|1|b@x"}, 2},
		{"duplicate id in batch: newest wins", []schema.Record{rec("c1", "new", 3, "2024-02-01T00:00:00+00:00", "b@x"), rec("c1", "old", 2, "2024-01-15T00:00:00+00:00")},
			[]string{"c1|new|3", "c2|b|1"}, []string{"c1|0|b@x"}, 1},
		{"older version never overwrites", []schema.Record{rec("c1", "stale", 9, "2024-01-20T00:00:00+00:00", "z@x")},
			[]string{"c1|new|3", "c2|b|1"}, []string{"c1|0|b@x"}, 0},
		{"same batch twice is idempotent", []schema.Record{rec("c1", "new", 3, "2024-02-01T00:00:00+00:00", "b@x")},
			[]string{"c1|new|3", "c2|b|1"}, []string{"c1|0|b@x"}, 1},
		{"equal timestamps: later record wins", []schema.Record{rec("c2", "x", 5, "2024-01-01T00:00:00+00:00"), rec("c2", "y", 6, "2024-01-01T00:00:00+00:00")},
			[]string{"c1|new|3", "c2|y|6"}, []string{"c1|0|b@x"}, 1},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			mark := schema.BookmarkAt(time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC))
			n, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: st.batch, Bookmark: mark}, load.Counters{Requests: 7})
			if err != nil {
				t.Fatal(err)
			}
			if n != st.written {
				t.Errorf("written = %d, want %d", n, st.written)
			}
			if got := dump(t, s, "SELECT id, name, n FROM close.contacts ORDER BY id"); strings.Join(got, ",") != strings.Join(st.want, ",") {
				t.Errorf("rows = %v, want %v", got, st.want)
			}
			if got := dump(t, s, "SELECT contact_id, _position, email FROM close.contacts_emails ORDER BY 1, 2"); strings.Join(got, ",") != strings.Join(st.emails, ",") {
				t.Errorf("emails = %v, want %v", got, st.emails)
			}
			bm, ok, err := s.Bookmark(ctx, "main", "", "contacts")
			if err != nil || !ok || bm != mark {
				t.Errorf("bookmark = %q %v %v", bm, ok, err)
			}
		})
	}
	// _raw keeps fields the table has no column for; custom lands as JSON.
	if got := dump(t, s, "SELECT _raw->'extra'->>'kept', custom->>'cf_1', _run_id = "+fmt.Sprint(id)+" FROM close.contacts WHERE id = 'c1'"); got[0] != "true|x|true" {
		t.Errorf("raw/custom = %v", got)
	}
	if err := s.FinishRun(ctx, id, runlog.Success, load.Counters{Requests: 9, Retries: 1}, ""); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if r := runs[0]; r.Status != "success" || r.RowsExtracted != 8 || r.RowsUpserted != 5 || r.Requests != 9 || r.Retries != 1 || r.FinishedAt == nil {
		t.Errorf("run row = %+v", r)
	}
}

func TestApplyRejectsRecordsWithoutKeyAndKeepsPriorRows(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	s.EnsureTable(ctx, contacts, schema.Upsert, "")
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "contacts"}
	if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: []schema.Record{rec("c1", "a", 1, "2024-01-01T00:00:00Z")}, Bookmark: bookmark("2024-01-01T00:00:00Z")}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: []schema.Record{rec("c2", "b", 1, "2024-01-02T00:00:00Z"), {Raw: []byte(`{"name":"no id"}`)}}, Bookmark: bookmark("2024-01-02T00:00:00Z")}, load.Counters{})
	if err == nil || !strings.Contains(err.Error(), "without key id") || !strings.Contains(err.Error(), "no id") {
		t.Fatalf("err = %v, want a key error naming the record", err)
	}
	if got := dump(t, s, "SELECT id FROM close.contacts ORDER BY id"); strings.Join(got, ",") != "c1" {
		t.Errorf("rows after failed batch = %v, want only c1 (batch rolled back whole)", got)
	}
	if bm, _, _ := s.Bookmark(ctx, "main", "", "contacts"); bm.String() != "2024-01-01T00:00:00Z" {
		t.Errorf("bookmark = %q, want 2024-01-01T00:00:00Z (not advanced by the failed batch)", bm)
	}
}

func TestAppendKeepsDistinctVersions(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Append, ""); err != nil {
		t.Fatal(err)
	}
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "contacts"}
	for _, b := range [][]schema.Record{
		{rec("c1", "a", 1, "2024-01-01T00:00:00Z")},
		{rec("c1", "a", 1, "2024-01-01T00:00:00Z")}, // same version again: not stored twice
		{rec("c1", "b", 2, "2024-01-02T00:00:00Z")},
	} {
		if _, err := s.Apply(ctx, run, contacts, schema.Append, load.Batch{Records: b}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
	}
	if got := dump(t, s, "SELECT id, name FROM close.contacts ORDER BY date_updated"); strings.Join(got, ",") != "c1|a,c1|b" {
		t.Errorf("versions = %v", got)
	}
	// A table made for append cannot silently switch to upsert.
	s2 := open(t, filepath.Join(t.TempDir(), "u.duckdb"))
	defer s2.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err == nil || !strings.Contains(err.Error(), "mode append") {
		t.Errorf("mode switch err = %v", err)
	}
}

func TestReplaceSwapsAtomically(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	s.EnsureTable(ctx, contacts, schema.Replace, "")
	for i, set := range [][]schema.Record{
		{rec("c1", "a", 1, "2024-01-01T00:00:00Z", "a@x"), rec("c2", "b", 1, "2024-01-01T00:00:00Z", "b@x")},
		{rec("c2", "b2", 2, "2024-01-02T00:00:00Z")},
	} {
		id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
		run := load.Run{ID: id, Account: "main", Report: "contacts"}
		if err := s.StartReplace(ctx, contacts, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, run, contacts, schema.Replace, load.Batch{Records: set}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
		// Until the swap, readers see the previous contents.
		if i == 1 {
			if got := dump(t, s, "SELECT count(*) FROM close.contacts"); got[0] != "2" {
				t.Errorf("before swap: %v rows", got)
			}
		}
		removed, err := s.FinishReplace(ctx, run, contacts)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && removed != 1 {
			t.Errorf("removed = %d, want 1", removed)
		}
	}
	if got := dump(t, s, "SELECT id, name FROM close.contacts"); strings.Join(got, ",") != "c2|b2" {
		t.Errorf("after replace = %v", got)
	}
	if got := dump(t, s, "SELECT count(*) FROM close.contacts_emails"); got[0] != "0" {
		t.Errorf("children after replace = %v", got)
	}
}

func TestOpenIsIdempotentAndRecoversInterruptedRuns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	s := open(t, path)
	if _, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "leads", Account: "main", Trigger: "manual"}); err != nil {
		t.Fatal(err)
	}
	s.Close() // as if the process died mid-run
	s = open(t, path)
	defer s.Close()
	runs, _ := s.Runs(ctx, 1)
	if runs[0].Status != "failed" || !strings.Contains(runs[0].Error, "interrupted") {
		t.Errorf("stale run = %+v", runs[0])
	}
}

func TestOpenRejectsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.duckdb")
	os.WriteFile(notDB, []byte("this is not a database\n"), 0o600)
	_, err := load.Open(context.Background(), load.Options{Path: notDB, Migrations: closesync.SQL})
	if err == nil || !strings.Contains(err.Error(), notDB) {
		t.Fatalf("err = %v, want an error naming the file", err)
	}
	_, err = load.Open(context.Background(), load.Options{Path: filepath.Join(dir, "missing", "x.duckdb"), Migrations: closesync.SQL})
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v, want an error naming the directory", err)
	}
}
