package load_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schema"
)

func TestApplyReportsCreatedAndUpdatedKeys(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "t.duckdb"))
	defer s.Close()
	if err := s.EnsureTable(ctx, contacts, schema.Upsert, ""); err != nil {
		t.Fatal(err)
	}
	id, _ := s.BeginRun(ctx, load.RunInfo{Job: "j", Report: "contacts", Account: "main", Trigger: "manual"})
	run := load.Run{ID: id, Account: "main", Report: "contacts"}
	apply := func(recs ...schema.Record) load.Changes {
		var ch load.Changes
		if _, err := s.Apply(ctx, run, contacts, schema.Upsert, load.Batch{Records: recs, Changes: &ch}, load.Counters{}); err != nil {
			t.Fatal(err)
		}
		return ch
	}
	first := apply(rec("c1", "Ada", 1, "2024-01-01T00:00:00Z"), rec("c2", "Bob", 1, "2024-01-01T00:00:00Z"))
	// c1 changes, c3 is new, and an older version of c2 loses and is not a change.
	second := apply(rec("c1", "Ada L.", 2, "2024-02-01T00:00:00Z"), rec("c3", "Cy", 1, "2024-02-01T00:00:00Z"),
		rec("c2", "Bob (old)", 0, "2023-12-01T00:00:00Z"))
	if got := fmt.Sprint(first, second); got != "{[c1 c2] []} {[c3] [c1]}" {
		t.Errorf("changes = %s", got)
	}
}
