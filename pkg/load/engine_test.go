package load_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

const settingsQuery = `SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('checkpoint_threshold'),
	current_setting('temp_directory'), current_setting('allocator_flush_threshold'), current_setting('allocator_background_threads')`

// TestEngineSettingsApplied: Open sets DuckDB's memory_limit, threads,
// checkpoint_threshold and temp_directory from Options.Engine, the unset
// ones from DefaultEngine (temp_directory: DuckDB's own default, beside the
// file), for the writer and for a reader.
func TestEngineSettingsApplied(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "t.duckdb")
	s := open(t, path)
	got := dump(t, s, settingsQuery)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// DuckDB prints sizes in binary units: 64MB is 61.0 MiB, 2GB 1.8 GiB.
	if want := []string{"61.0 MiB|1|1.8 GiB|" + path + ".tmp|3.8 MiB|true"}; !slices.Equal(got, want) {
		t.Errorf("default settings %v, want %v (DefaultEngine %+v)", got, want, load.DefaultEngine)
	}

	tmp := filepath.Join(dir, "spill")
	eng := load.Engine{MemoryLimit: "1GB", Threads: 1, CheckpointThreshold: "16MB", TempDirectory: tmp}
	for _, ro := range []bool{false, true} {
		s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, ReadOnly: ro, Engine: eng})
		if err != nil {
			t.Fatal(err)
		}
		got := dump(t, s, settingsQuery)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if want := []string{"953.6 MiB|1|15.2 MiB|" + tmp + "|3.8 MiB|true"}; !slices.Equal(got, want) {
			t.Errorf("read-only %v: settings %v, want %v", ro, got, want)
		}
	}

	_, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Engine: load.Engine{MemoryLimit: "lots"}})
	if err == nil || !strings.Contains(err.Error(), "memory_limit") {
		t.Errorf("memory_limit lots: err %v, want one naming memory_limit", err)
	}
}

// TestApplyDropsItsTempTables: a batch's staging tables are gone once it
// commits. DuckDB never reclaims rows deleted from a temporary table, so a
// staging table reused across batches kept every batch's JSON in memory.
func TestApplyDropsItsTempTables(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	run := beginContacts(t, s)
	for i := range 3 {
		b := load.Batch{Records: []schema.Record{rec("c1", "a", i, "2024-01-01T00:00:00+00:00", "a@x")},
			Bookmark: schema.BookmarkAt(time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC))}
		if _, err := s.Apply(ctx, run, contacts, schema.Upsert, b, load.Counters{}); err != nil {
			t.Fatal(err)
		}
		if got := dump(t, s, "SELECT table_name FROM duckdb_tables() WHERE temporary ORDER BY 1"); len(got) != 0 {
			t.Fatalf("after batch %d: temporary tables %v, want none", i, got)
		}
	}
}

// TestRewriteOfStoredRowsStaysInThePool: a run that writes new versions of
// every row of a checkpointed table (a resumed first sync, a bulk edit in
// Close, a re-read) fits a memory_limit its rows do not. Upserting with
// INSERT ... ON CONFLICT DO UPDATE, DuckDB held each in-place update of a
// stored row in memory it could not evict until the next checkpoint, and
// this test ran out of memory after a few batches.
func TestRewriteOfStoredRowsStaysInThePool(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.duckdb")
	const rows, perBatch = 3000, 500
	big := strings.Repeat("x", 6000) // 18 MB of names, a quarter of the pool below
	write := func(s *load.Store, version int) {
		t.Helper()
		run := beginContacts(t, s)
		updated := fmt.Sprintf("2024-01-0%dT00:00:00+00:00", version)
		for lo := 0; lo < rows; lo += perBatch {
			var recs []schema.Record
			for i := lo; i < lo+perBatch; i++ {
				recs = append(recs, rec(fmt.Sprintf("c%05d", i), fmt.Sprintf("v%d %s", version, big), i, updated, "a@x"))
			}
			if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: recs}, load.Counters{}); err != nil {
				t.Fatalf("version %d, rows from %d: %v", version, lo, err)
			}
		}
	}
	s, err := load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Engine: load.Engine{MemoryLimit: "1GB"}})
	if err != nil {
		t.Fatal(err)
	}
	write(s, 1)
	if err := s.Close(); err != nil { // checkpoints: the rows are stored
		t.Fatal(err)
	}
	s, err = load.Open(ctx, load.Options{Path: path, Migrations: closesync.SQL, Engine: load.Engine{MemoryLimit: "64MB"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	write(s, 2)
	got := dump(t, s, `SELECT count(*), count(DISTINCT id), min(left(name, 3)), max(left(name, 3)), min(n), max(n) FROM close.contacts`)
	if want := []string{fmt.Sprintf("%d|%d|v2 |v2 |0|%d", rows, rows, rows-1)}; !slices.Equal(got, want) {
		t.Errorf("after the rewrite %v, want %v", got, want)
	}
}
