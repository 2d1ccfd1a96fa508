package daemon

import (
	"sync"

	"github.com/closesync/closesync/internal/hooks"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schedule"
)

// delivery hands each result of a foreground run to its Result func and
// then to the hooks, once: as the run ends (pipeline.Watch.Ended), and at
// its job's end for the runs that never began and for any result not
// delivered yet.
type delivery struct {
	mu     sync.Mutex
	result func(schedule.Triggered)
	after  *hooks.Hooks
	done   map[int64]bool // run ids delivered
}

func newDelivery(result func(schedule.Triggered), after *hooks.Hooks) *delivery {
	return &delivery{result: result, after: after, done: map[int64]bool{}}
}

// each delivers results, each followed by the run it led to, skipping the
// runs already delivered. A result without a run row (ID 0) is delivered
// whenever it comes: only the job's end hands those.
func (d *delivery) each(results []pipeline.Result) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, res := range schedule.WithFollowups(results) {
		if res.ID != 0 {
			if d.done[res.ID] {
				continue
			}
			d.done[res.ID] = true
		}
		d.result(res)
		if res.ID != 0 {
			d.after.Observe(res.Result)
		}
	}
}
