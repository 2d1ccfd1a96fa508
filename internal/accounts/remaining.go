package accounts

import (
	"sync"
)

// Remaining keeps the last rate-limit room Close reported per account (an
// Observer; the zero value is ready).
type Remaining struct {
	mu        sync.Mutex
	remaining map[string]int
}

// APIResponse takes the room of one response.
func (o *Remaining) APIResponse(account, group string, status, remaining int, hasRL bool) {
	if !hasRL {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.remaining == nil {
		o.remaining = map[string]int{}
	}
	o.remaining[account] = remaining
}

// Snapshot is the last room seen per account.
func (o *Remaining) Snapshot() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]int{}
	for k, v := range o.remaining {
		out[k] = v
	}
	return out
}
