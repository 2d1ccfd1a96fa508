package load_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// fragmented builds a database with synced contacts, a bookmark, a view, a
// comment and runs, and then many blocks freed by a dropped table.
func fragmented(t *testing.T) string {
	t.Helper()
	path := syncedContacts(t, 500, load.Counters{Requests: 3})
	fragment(t, path)
	return path
}

// syncedContacts is a closed database of n contacts synced by one
// successful run (with the counters c) that left a bookmark.
func syncedContacts(t *testing.T, n int, c load.Counters) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "crm.duckdb")
	s := open(t, path)
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: runlog.Manual})
	if err != nil {
		t.Fatal(err)
	}
	var batch []schema.Record
	for i := range n {
		batch = append(batch, rec(fmt.Sprintf("c%03d", i), "name", i, "2024-01-01T00:00:00+00:00", "a@x", "b@x"))
	}
	if _, err := s.Apply(ctx, load.Run{ID: id, Account: "main", Report: "contacts"}, contacts, schema.Upsert,
		load.Batch{Records: batch, Bookmark: bookmark("2024-01-01T00:00:00Z")}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, id, runlog.Success, c, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// fragment frees many blocks in the middle of the file at path.
func fragment(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE OR REPLACE TABLE close.junk AS SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) AS s FROM range(300000) t(i)",
		"CHECKPOINT",
		// Written after the junk, so its freed blocks are not at the end
		// of the file (DuckDB truncates those).
		"CREATE OR REPLACE TABLE close.later AS SELECT i FROM range(1000) t(i)",
		"CHECKPOINT",
		"DROP TABLE close.junk",
		"CHECKPOINT",
		"CREATE OR REPLACE VIEW close.named AS SELECT id, name FROM close.contacts",
		"COMMENT ON TABLE close.contacts IS 'Close contacts'",
		"COMMENT ON COLUMN close.contacts.name IS 'the name'",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// snapshot is everything a compaction must keep: the rows of every table
// (the runs but compactions), the constraints, views, comments and
// sequences.
func snapshot(t *testing.T, s *load.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{
		"constraints": dump(t, s, `SELECT schema_name, table_name, constraint_type, constraint_text FROM duckdb_constraints()
			WHERE database_name = current_database() ORDER BY ALL`),
		"views": dump(t, s, `SELECT schema_name, view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND NOT internal ORDER BY ALL`),
		"comments": dump(t, s, `SELECT schema_name, table_name, coalesce(comment, '') FROM duckdb_tables() WHERE database_name = current_database()
			UNION ALL SELECT schema_name, table_name || '.' || column_name, coalesce(comment, '') FROM duckdb_columns() WHERE database_name = current_database() ORDER BY ALL`),
		"sequences": dump(t, s, `SELECT schema_name, sequence_name FROM duckdb_sequences() WHERE database_name = current_database() ORDER BY ALL`),
	}
	for _, tbl := range dump(t, s, `SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1`) {
		q := "SELECT * FROM " + tbl
		if tbl == "sync.runs" {
			q += " WHERE trigger <> 'compact'"
		}
		out[tbl] = dump(t, s, q+" ORDER BY ALL")
	}
	return out
}

func TestCompactShrinksAndKeepsEverything(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"Compact", "Close with a due policy"} {
		t.Run(how, func(t *testing.T) {
			path := fragmented(t)
			s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Compaction: load.Compaction{FreeRatio: 0.5, MinSize: 1 << 20, MinInterval: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			before, err := s.FileSize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if before.FreeRatio() < 0.5 {
				t.Fatalf("the fixture is not fragmented: %+v, free %.2f", before, before.FreeRatio())
			}
			want := snapshot(t, s)
			lastRun := mustRuns(t, s)[0].ID
			if how == "Compact" {
				r, err := s.Compact(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if r.Before.Bytes != before.Bytes || r.After.Bytes >= before.Bytes/2 {
					t.Errorf("compaction %d -> %d bytes, want below half of %d", r.Before.Bytes, r.After.Bytes, before.Bytes)
				}
			} else {
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if s, err = load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL}); err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() >= before.Bytes/2 {
				t.Errorf("file is %d bytes after compaction, want below half of %d", st.Size(), before.Bytes)
			}
			for _, left := range []string{path + ".compact", path + ".compact.wal"} {
				if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s left behind: %v", left, err)
				}
			}
			if got := snapshot(t, s); !reflect.DeepEqual(got, want) {
				t.Errorf("contents changed by compaction:\n got %v\nwant %v", got, want)
			}
			runs := mustRuns(t, s)
			if c := runs[0]; c.Trigger != runlog.Compact || c.Status != runlog.Success || c.Report != load.CompactReport || c.ID <= lastRun || c.FinishedAt == nil {
				t.Errorf("compaction run = %+v", c)
			}
			// The store writes on: the new file's sequence continues and
			// the bookmark is where it was.
			id, err := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: runlog.Manual})
			if err != nil {
				t.Fatal(err)
			}
			if id <= runs[0].ID {
				t.Errorf("run id after compaction %d, want above %d", id, runs[0].ID)
			}
			if _, err := s.Apply(ctx, load.Run{ID: id, Account: "main", Report: "contacts"}, contacts, schema.Upsert,
				load.Batch{Records: []schema.Record{rec("new", "n", 1, "2024-02-01T00:00:00+00:00")}, Bookmark: bookmark("2024-02-01T00:00:00Z")}, load.Counters{}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open(t, path)
			if got := dump(t, s, "SELECT count(*) FROM close.contacts"); got[0] != "501" {
				t.Errorf("contacts after a write to the compacted file: %v", got)
			}
			b, _, err := s.Bookmark(ctx, "main", "", "contacts")
			if err != nil || b.String() != bookmark("2024-02-01T00:00:00Z").String() {
				t.Errorf("bookmark after a write to the compacted file: %v, %v", b, err)
			}
		})
	}
}

func TestCompactionPolicy(t *testing.T) {
	f := load.FileSize{Bytes: 10 << 20, BlockSize: 1 << 20, UsedBlocks: 4}
	for _, c := range []struct {
		name   string
		policy load.Compaction
		want   bool
	}{
		{"free share above the ratio", load.Compaction{FreeRatio: 0.5, MinSize: 1 << 20}, true},
		{"free share at the ratio", load.Compaction{FreeRatio: 0.6, MinSize: 1 << 20}, true},
		{"free share below the ratio", load.Compaction{FreeRatio: 0.7, MinSize: 1 << 20}, false},
		{"file below the minimum size", load.Compaction{FreeRatio: 0.5, MinSize: 200 << 20}, false},
		{"ratio 0 disables", load.Compaction{FreeRatio: 0}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.policy.Due(f); got != c.want {
				t.Errorf("Due = %v, want %v", got, c.want)
			}
		})
	}
}

// A compaction stopped while it copies leaves the original file as it was
// and no copy.
func TestCompactFailureLeavesTheOriginal(t *testing.T) {
	path := fragmented(t)
	s := open(t, path)
	defer s.Close()
	want := snapshot(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // cancel once the copy exists
		for {
			if _, err := os.Stat(path + ".compact"); err == nil {
				cancel()
				return
			}
			if ctx.Err() != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	_, err := s.Compact(ctx)
	if err == nil {
		t.Skip("the copy finished before the cancellation reached it")
	}
	if !errors.Is(err, context.Canceled) && ctx.Err() == nil {
		t.Fatalf("Compact error = %v, want a cancellation", err)
	}
	for _, left := range []string{path + ".compact", path + ".compact.wal"} {
		if _, err := os.Stat(left); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", left, err)
		}
	}
	if got := snapshot(t, s); !reflect.DeepEqual(got, want) {
		t.Errorf("contents changed by a failed compaction:\n got %v\nwant %v", got, want)
	}
	if c := mustRuns(t, s)[0]; c.Trigger != runlog.Compact || c.Status != runlog.Failed || c.Error == "" {
		t.Errorf("failed compaction run = %+v", c)
	}
	after, err := s.FileSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if after.FreeRatio() < 0.5 {
		t.Errorf("the original was changed: free share %.2f", after.FreeRatio())
	}
}

func mustRuns(t *testing.T, s *load.Store) []runlog.Run {
	t.Helper()
	runs, err := s.Runs(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// Close does not compact again within MinInterval of the last compaction:
// the runs after one grow the file again by the row groups they rewrite.
func TestCloseCompactsAtMostOncePerInterval(t *testing.T) {
	ctx := context.Background()
	path := fragmented(t)
	policy := load.Compaction{FreeRatio: 0.3, MinSize: 1 << 20, MinInterval: time.Hour}
	compactions := func() string {
		s := open(t, path)
		defer s.Close()
		return dump(t, s, "SELECT count(*) FROM sync.runs WHERE trigger = 'compact'")[0]
	}
	for i, want := range []string{"1", "1"} {
		s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Compaction: policy})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := compactions(); got != want {
			t.Errorf("close %d: %s compactions, want %s", i, got, want)
		}
		fragment(t, path)
	}
	policy.MinInterval = time.Nanosecond
	s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Compaction: policy})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := compactions(); got != "2" {
		t.Errorf("after the interval: %s compactions, want 2", got)
	}
}
