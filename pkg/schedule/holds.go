package schedule

import (
	"context"
	"sync"
)

// holds are the reports of the entries running now, by job and report, so
// that a verify entry never counts a report while another entry of its job
// writes it (a walk half done would read as a difference), and a sync
// waits for a verify of its reports to end. Sync and reconcile entries of
// one report never overlap anyway: each report is in one entry.
type holds struct {
	mu    sync.Mutex
	held  map[string]int
	freed chan struct{} // closed, and replaced, whenever a hold ends
}

func reportKeys(job ScheduledJob) []string {
	keys := make([]string, len(job.Reports))
	for i, rr := range job.Reports {
		keys[i] = job.Name + "/" + rr.Report.Name
	}
	return keys
}

// try holds the entry's reports if none is held and returns its release.
func (h *holds) try(job ScheduledJob) (func(), bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == nil {
		h.held, h.freed = map[string]int{}, make(chan struct{})
	}
	keys := reportKeys(job)
	for _, k := range keys {
		if h.held[k] > 0 {
			return nil, false
		}
	}
	for _, k := range keys {
		h.held[k]++
	}
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, k := range keys {
			h.held[k]--
		}
		close(h.freed)
		h.freed = make(chan struct{})
	}, true
}

// wait holds the entry's reports once they are free, or fails when ctx
// ends first.
func (h *holds) wait(ctx context.Context, job ScheduledJob) (func(), error) {
	for {
		release, ok := h.try(job)
		if ok {
			return release, nil
		}
		h.mu.Lock()
		freed := h.freed
		h.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
}
