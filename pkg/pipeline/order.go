package pipeline

import "github.com/closesync/closesync/pkg/extract"

// startOrder is the order in which a job's reports start: the heaviest
// first (extract.Report.Weight), the job's order among equals, so that the
// longest walks are not the last to start. An event reader (RefetchEdited)
// still starts after every report before it in the job that stores the
// event log (ApplyEventDeletes): it waits for them to end, and they must
// hold their slots by then; they start as early as the reader would. It
// returns indexes into reports.
func startOrder(reports []ReportRun) []int {
	started := make([]bool, len(reports))
	ready := func(i int) bool {
		if !reports[i].Report.Has(extract.RefetchEdited) {
			return true
		}
		for j := range i {
			if reports[j].Report.Has(extract.ApplyEventDeletes) && !started[j] {
				return false
			}
		}
		return true
	}
	// A report an event reader waits for weighs what the reader does, so
	// that a heavy reader is not held back by a light event log.
	weight := make([]int, len(reports))
	for i, rr := range reports {
		weight[i] = rr.Report.Weight
	}
	for i, rr := range reports {
		if !rr.Report.Has(extract.RefetchEdited) {
			continue
		}
		for j := range i {
			if reports[j].Report.Has(extract.ApplyEventDeletes) {
				weight[j] = max(weight[j], rr.Report.Weight)
			}
		}
	}
	out := make([]int, 0, len(reports))
	for len(out) < len(reports) {
		best := -1
		for i := range reports {
			if started[i] || !ready(i) {
				continue
			}
			if best < 0 || weight[i] > weight[best] {
				best = i
			}
		}
		started[best] = true
		out = append(out, best)
	}
	return out
}
