package load_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

// TestLoadedFromMigratesAndResets: a file written before loaded_from (the
// migrations before it) gains the column with NULL values; SetLoadedFrom
// fills it once (onlyUnset) or overwrites it; ResetReport forgets the
// state and, with drop, empties the table and its child table in one go.
func TestLoadedFromMigratesAndResets(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	before := fstest.MapFS{}
	// Apply of this code also needs sync.raw_keys, which a file of that
	// time gets with the later migrations.
	for _, name := range []string{"sql/0001_sync.sql", "sql/0002_organization.sql", "sql/0006_raw_keys.sql"} {
		b, err := fs.ReadFile(closesync.SQL, name)
		if err != nil {
			t.Fatal(err)
		}
		before[name] = &fstest.MapFile{Data: b}
	}
	old, err := load.Open(ctx, load.Options{Path: path, Migrations: before})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, err := old.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	if err != nil {
		t.Fatal(err)
	}
	b := load.Batch{Records: []schema.Record{rec("c1", "a", 1, "2024-03-01T00:00:00+00:00", "a@x")}, Bookmark: bookmark("2024-03-01T00:00:00Z")}
	if _, err := old.Apply(ctx, load.Run{ID: id, Account: "main", Report: "contacts"}, contacts, schema.Upsert, b, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t, path) // every migration
	defer s.Close()
	if _, ok, err := s.LoadedFrom(ctx, "main", "contacts"); err != nil || ok {
		t.Fatalf("after the migration: loaded_from known %v, err %v; want NULL", ok, err)
	}
	jan, feb := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		from      time.Time
		onlyUnset bool
		want      time.Time
	}{{feb, true, feb}, {jan, true, feb}, {jan, false, jan}} {
		if _, err := s.SetLoadedFrom(ctx, "main", "contacts", schema.BookmarkAt(step.from), step.onlyUnset); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.LoadedFrom(ctx, "main", "contacts"); err != nil || !ok || !got.Time().Equal(step.want) {
			t.Errorf("SetLoadedFrom(%s, onlyUnset %v): %s %v %v, want %s", step.from, step.onlyUnset, got, ok, err, step.want)
		}
	}
	if set, err := s.SetLoadedFrom(ctx, "main", "leads", schema.BookmarkAt(jan), false); err != nil || set {
		t.Errorf("SetLoadedFrom without a state row: set %v, err %v", set, err)
	}
	if got, ok, err := s.Oldest(ctx, contacts, "date_updated"); err != nil || !ok || !got.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Oldest date_updated: %s %v %v", got, ok, err)
	}

	r, err := s.ResetReport(ctx, "main", "contacts", contacts, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bookmark.String() != "2024-03-01T00:00:00Z" || len(r.Dropped) != 2 || r.Dropped[0].Rows != 1 || r.Dropped[1].Rows != 1 {
		t.Errorf("reset: %+v", r)
	}
	if bm, ok, _ := s.Bookmark(ctx, "main", "", "contacts"); ok {
		t.Errorf("bookmark %q still stored", bm)
	}
	if got := dump(t, s, "SELECT count(*) FROM close.contacts UNION ALL SELECT count(*) FROM close.contacts_emails"); len(got) != 2 || got[0] != "0" || got[1] != "0" {
		t.Errorf("rows after reset --drop: %v", got)
	}
}
