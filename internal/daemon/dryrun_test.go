package daemon

import (
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/extract"
)

// TestWalkTime: the walk's duration is its requests at the probes' mean
// latency (200ms when they took no time), unknown without a request count.
func TestWalkTime(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		plan extract.Plan
		took time.Duration
		want time.Duration
	}{
		{extract.Plan{Requests: 10, Probes: 2}, 100 * time.Millisecond, 500 * time.Millisecond},
		{extract.Plan{Requests: 3}, 300 * time.Millisecond, 900 * time.Millisecond},
		{extract.Plan{Requests: 5, Probes: 1}, 0, time.Second},
		{extract.Plan{Requests: -1, Probes: 1}, time.Second, -1},
	} {
		if got := walkTime(c.plan, c.took); got != c.want {
			t.Errorf("walkTime(%+v, %s) = %s, want %s", c.plan, c.took, got, c.want)
		}
	}
}
