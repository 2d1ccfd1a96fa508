package load_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/closesync/closesync"
	"github.com/closesync/closesync/pkg/load"
)

// TestAllocatorGivesFreedPagesBack: once a store is open, DuckDB's jemalloc
// gives freed pages back at once, unless the environment configures it.
func TestAllocatorGivesFreedPagesBack(t *testing.T) {
	st, err := load.Open(context.Background(), load.Options{Path: filepath.Join(t.TempDir(), "a.duckdb"), Migrations: closesync.SQL})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dirty, muzzy, ok := load.AllocatorDecay()
	if !ok {
		if runtime.GOOS == "linux" && (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") {
			t.Fatal("this DuckDB has no jemalloc: its Linux builds do")
		}
		t.Skipf("DuckDB has no jemalloc on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	if v := os.Getenv(load.AllocatorEnv); v != "" {
		t.Skipf("%s is %q in the environment: the user's choice", load.AllocatorEnv, v)
	}
	if dirty != 0 || muzzy != 0 {
		t.Errorf("jemalloc keeps freed pages %d ms dirty and %d ms muzzy, want 0 and 0", dirty, muzzy)
	}
}
