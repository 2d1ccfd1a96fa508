package closefake

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// pastEdits edits Options.PastEdits activities created before the event
// log's 30 days, one to three times each within them, logging every edit
// (see Options.PastEdits). Activities already updated within the 30 days
// are left alone, so each chosen one's last edit is its date_updated.
func (g *gen) pastEdits() {
	s := g.s
	if s.opts.PastEdits <= 0 {
		return
	}
	cutoff := g.now.Add(-eventRetention)
	c := s.col(KindActivity)
	var old []string
	for _, id := range c.ids() {
		o := c.objs[id]
		if mustTime(o["date_updated"].(string)).Before(cutoff) {
			old = append(old, id)
		}
	}
	g.r.Shuffle(len(old), func(i, j int) { old[i], old[j] = old[j], old[i] })
	naive := kinds[KindActivity].naive
	for _, id := range old[:min(s.opts.PastEdits, len(old))] {
		times := make([]time.Time, 1+g.r.IntN(3))
		for i := range times {
			times[i] = g.between(cutoff.Add(time.Hour), g.now.Add(-time.Hour))
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		o := c.objs[id]
		for i, at := range times {
			n := maps.Clone(o)
			n["note"] = fmt.Sprintf("edited before the first sync (%d)", i+1)
			stamp(n, at, s.me, s.userName(s.me), naive)
			changed, prev := diff(o, n)
			s.put(KindActivity, n)
			s.logEvent(KindActivity, n, "updated", changed, prev, at, s.me, nil)
			o = n
		}
	}
}
