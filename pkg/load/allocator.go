package load

import (
	"errors"
	"os"
	"sync"

	"go.uber.org/zap"
)

// AllocatorEnv is the environment variable DuckDB's allocator (jemalloc, on
// Linux) reads its options from when the process starts. When it is set
// (not empty), closesync leaves the allocator as the user configured it.
const AllocatorEnv = "DUCKDB_JE_MALLOC_CONF"

// errNoJemalloc: this DuckDB does not allocate through jemalloc.
var errNoJemalloc = errors.New("DuckDB has no jemalloc")

var allocatorOnce sync.Once

// tuneAllocator makes DuckDB's jemalloc give freed pages back to the system
// at once, once per process, after DuckDB has started (it must have made its
// arenas). DuckDB's own setting keeps them resident for a second, for
// reuse; a sync frees most of what it allocates (each batch is typed,
// written and dropped), and the pages it kept were 12-17% of the process's
// peak up to 20,000 leads (README "Memory"). The cost is CPU in madvise
// calls: 21% more at 100,000 leads.
func tuneAllocator(log *zap.Logger) {
	allocatorOnce.Do(func() {
		if conf := os.Getenv(AllocatorEnv); conf != "" {
			log.Debug("allocator left as the environment sets it", zap.String(AllocatorEnv, conf))
			return
		}
		if err := setAllocatorDecay(0); err != nil && !errors.Is(err, errNoJemalloc) {
			log.Warn("could not make DuckDB's allocator give freed memory back", zap.Error(err))
		}
	})
}
