//go:build linux && cgo

package load

/*
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

// DuckDB's Linux builds link jemalloc with the prefix duckdb_je_. The
// reference is weak: a DuckDB built without jemalloc leaves it NULL.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) __attribute__((weak));

// closesync_set_decay sets how long freed pages stay resident, for the
// arenas to come and for each arena there is. An arena not in use yet
// refuses: it takes the new default when it starts.
static int closesync_set_decay(ssize_t ms) {
	if (!duckdb_je_mallctl) return -1;
	if (duckdb_je_mallctl("arenas.dirty_decay_ms", NULL, NULL, &ms, sizeof(ms)) != 0) return -2;
	if (duckdb_je_mallctl("arenas.muzzy_decay_ms", NULL, NULL, &ms, sizeof(ms)) != 0) return -3;
	unsigned n = 0;
	size_t len = sizeof(n);
	if (duckdb_je_mallctl("arenas.narenas", &n, &len, NULL, 0) != 0) return -4;
	char name[64];
	for (unsigned i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &ms, sizeof(ms));
		snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", i);
		duckdb_je_mallctl(name, NULL, NULL, &ms, sizeof(ms));
	}
	return 0;
}

static int closesync_read_ssize(const char *name, ssize_t *v) {
	if (!duckdb_je_mallctl) return -1;
	size_t len = sizeof(*v);
	return duckdb_je_mallctl(name, v, &len, NULL, 0);
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// setAllocatorDecay makes DuckDB's jemalloc give freed pages back to the
// system after ms milliseconds (0: at once), in every arena.
func setAllocatorDecay(ms int64) error {
	if rc := C.closesync_set_decay(C.ssize_t(ms)); rc != 0 {
		if rc == -1 {
			return errNoJemalloc
		}
		return fmt.Errorf("jemalloc refused the decay setting (step %d)", -rc)
	}
	return nil
}

// AllocatorDecay reads how many milliseconds DuckDB's jemalloc keeps freed
// pages resident (dirty, then muzzy) before it gives them back to the
// system, as arena 0 has it (every arena is set alike). ok is false when
// this DuckDB has no jemalloc.
func AllocatorDecay() (dirtyMS, muzzyMS int64, ok bool) {
	read := func(name string) (int64, bool) {
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		var v C.ssize_t
		if C.closesync_read_ssize(cname, &v) != 0 {
			return 0, false
		}
		return int64(v), true
	}
	d, ok1 := read("arena.0.dirty_decay_ms")
	m, ok2 := read("arena.0.muzzy_decay_ms")
	return d, m, ok1 && ok2
}
