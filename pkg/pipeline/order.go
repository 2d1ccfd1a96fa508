package pipeline

import (
	"slices"

	"github.com/closesync/closesync/pkg/extract"
)

// startOrder is the order in which a job's reports start: the heaviest
// first (extract.Report.Weight), the job's order among equals, so that the
// longest walks are not the last to start. An event reader (RefetchEdited)
// still starts after every report before it in the job that stores the
// event log (ApplyEventDeletes): it waits for them to end, and they must
// hold their slots by then; they start as early as the reader would. So
// does every other wait of waitsFor. It returns indexes into reports.
func startOrder(reports []ReportRun) []int {
	started := make([]bool, len(reports))
	ready := func(i int) bool {
		return !slices.ContainsFunc(waitsFor(reports, i), func(j int) bool { return !started[j] })
	}
	// A report another waits for weighs what the waiting one does, so
	// that a heavy reader is not held back by a light event log.
	weight := make([]int, len(reports))
	for i, rr := range reports {
		weight[i] = rr.Report.Weight
	}
	for i, rr := range reports {
		for _, j := range waitsFor(reports, i) {
			weight[j] = max(weight[j], rr.Report.Weight)
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

// waitsFor lists the reports that report i of a job starts only once they
// have ended: an event reader (RefetchEdited) waits for the reports before
// it that store the event log (ApplyEventDeletes), so it sees the edits
// they stored; a report whose privacy options name a custom field by name
// waits for the job's custom_fields, whose table resolves the name.
func waitsFor(reports []ReportRun, i int) []int {
	var out []int
	if reports[i].Report.Has(extract.RefetchEdited) {
		for j := range i {
			if reports[j].Report.Has(extract.ApplyEventDeletes) {
				out = append(out, j)
			}
		}
	}
	if reports[i].Privacy.NamesCustomFields() {
		for j, rr := range reports {
			if j != i && rr.Report.Name == extract.CustomFieldsReport {
				out = append(out, j)
			}
		}
	}
	return out
}
