package load_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

func TestPublishSnapshotIsAConsistentReadOnlyCopy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "crm.duckdb"), filepath.Join(dir, "snap.duckdb")
	s := open(t, src)
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "contacts"}
	if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: []schema.Record{rec("c1", "Ada", 1, "2024-01-01T00:00:00Z", "a@x")}}, load.Counters{}); err != nil {
		t.Fatal(err)
	}
	// While the database is open (its log not checkpointed), no snapshot.
	if err := load.PublishSnapshot(src, dst); err == nil || !strings.Contains(err.Error(), "write-ahead log") {
		if _, statErr := os.Stat(src + ".wal"); statErr == nil {
			t.Fatalf("snapshot of an open database: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dst, []byte("an older snapshot"), 0o644)
	if err := load.PublishSnapshot(src, dst); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", dst+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.QueryRow(`SELECT name FROM close.contacts WHERE id = 'c1'`).Scan(&name); err != nil || name != "Ada" {
		t.Fatalf("snapshot: %q, %v", name, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".snap.duckdb.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := load.PublishSnapshot(filepath.Join(dir, "missing.duckdb"), dst); err == nil {
		t.Error("snapshot of a missing file succeeded")
	}
}
