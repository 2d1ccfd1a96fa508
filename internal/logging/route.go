package logging

import (
	"io"
	"sync"
)

// Routed is a log destination that can be sent elsewhere for a while:
// above a progress display's bars while they are shown, so log lines do
// not garble them. It is a terminal when its base is (Fd), so a logger
// built on it encodes as it would on the base.
type Routed struct {
	base io.Writer
	mu   sync.Mutex
	to   io.Writer // nil: base
}

// NewRouted returns a Routed writing to base until routed elsewhere.
func NewRouted(base io.Writer) *Routed { return &Routed{base: base} }

// Write writes p to the current destination.
func (r *Routed) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.to != nil {
		return r.to.Write(p)
	}
	return r.base.Write(p)
}

// Route sends what is written to w from now on; nil sends it to the base
// again. A write in progress ends first.
func (r *Routed) Route(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.to = w
}

// Fd is the base's file descriptor, for IsTerminal; ^uintptr(0) when the
// base is no file.
func (r *Routed) Fd() uintptr {
	if f, ok := r.base.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}
