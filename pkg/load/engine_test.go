package load_test

import (
	"context"
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

// TestCheckpointNarrowsThePool: the final checkpoint runs with half the
// memory_limit (not below 32MB) and the limit is restored after it; a limit
// whose half is below the floor is left alone.
func TestCheckpointNarrowsThePool(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, c := range []struct{ limit, narrow string }{
		{"128MB", "61.0 MiB"}, // 64MB
		{"67MB", "31.4 MiB"},  // 33MB: the default for a leads job
		{"60MB", "57.2 MiB"},  // 30MB would be below the floor
	} {
		s, err := load.Open(ctx, load.Options{Path: filepath.Join(dir, c.limit+".duckdb"), Migrations: closesync.SQL,
			Engine: load.Engine{MemoryLimit: c.limit}})
		if err != nil {
			t.Fatal(err)
		}
		const q = "SELECT current_setting('memory_limit')"
		full := dump(t, s, q)
		restore := s.NarrowPool(ctx)
		if got := dump(t, s, q); !slices.Equal(got, []string{c.narrow}) {
			t.Errorf("memory_limit %s: narrowed to %v, want %s", c.limit, got, c.narrow)
		}
		restore()
		if got := dump(t, s, q); !slices.Equal(got, full) {
			t.Errorf("memory_limit %s: %v after the checkpoint, want %v", c.limit, got, full)
		}
		if err := s.Close(); err != nil {
			t.Errorf("memory_limit %s: close: %v", c.limit, err)
		}
	}
}

// TestApplyDropsItsTempTables: a batch's staging tables are gone once it
// commits. DuckDB never reclaims rows deleted from a temporary table, so a
// staging table reused across batches kept every batch's JSON in memory.
func TestApplyDropsItsTempTables(t *testing.T) {
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
