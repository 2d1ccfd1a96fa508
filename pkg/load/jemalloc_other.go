//go:build !linux || !cgo

package load

// DuckDB uses jemalloc on Linux only; elsewhere it uses the system's
// allocator, which closesync leaves as it is.

func setAllocatorDecay(int64) error { return errNoJemalloc }

// AllocatorDecay: ok is false, as there is no jemalloc.
func AllocatorDecay() (dirtyMS, muzzyMS int64, ok bool) { return 0, 0, false }
