package load_test

import (
	"path/filepath"
	"sync"
	"testing"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/load/loadtest"
)

var _ loadtest.Store = (*load.Store)(nil)

// TestConformance runs the store conformance suite against *load.Store on
// a DuckDB file per case.
func TestConformance(t *testing.T) {
	var paths sync.Map // *testing.T -> the case's database file
	loadtest.Run(t, func(t *testing.T) loadtest.Store {
		t.Helper()
		path, ok := paths.Load(t)
		if !ok {
			path = filepath.Join(t.TempDir(), "conformance.duckdb")
			paths.Store(t, path)
		}
		s, err := load.Open(t.Context(), load.Options{Path: path.(string), Migrations: closesync.SQL})
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		// A store the case closed itself closes again as a no-op.
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close %s: %v", path, err)
			}
		})
		return s
	})
}
