package extract

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Reconcilable reports whether the report's ids can all be listed: a walk
// that lists every object (offset listings and searches) of objects that
// Close deletes (Table.Deletes).
func (r *Report) Reconcilable() bool {
	_, lists := r.Walk.(idLister)
	return r.Parent == "" && r.Table.Deletes != nil && lists && len(r.Table.Key) == 1
}

// Request.IDsOnly lists the id of every object of the report as it is now,
// for the reconciliation pass that finds rows deleted in Close without an
// event (older than the event log's 30 days, or missed while closesync was
// down). The walk reads the report's endpoint from the start date with no
// bookmark and asks only for idFields, so it costs a fraction of a full
// sync; its batches carry those partial records, their IDs, and never a
// bookmark (see newRun).

// idFields are the fields a listing of ids asks for: the key and the
// fields the walk orders or restarts by.
func (x *run) idFields() []string {
	r := x.req.Report
	fields := []string{r.Table.Key[0]}
	for _, f := range []string{r.Strategy.Keyset, r.Strategy.Field} {
		if f != "" && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	return fields
}

// wantIDs reports whether the run reads each record's key into Batch.IDs.
func (x *run) wantIDs() bool {
	return x.req.IDsOnly || x.req.Report.Reconcilable()
}

// RecordIDs is the key of each record of a batch of a reconcilable report:
// the IDs its walk read, or, for a batch made elsewhere, read from the
// records.
func RecordIDs(r *Report, b Batch) ([]string, error) {
	key := r.Table.Key[0]
	ids := b.IDs
	if len(ids) != len(b.Records) {
		ids = make([]string, len(b.Records))
		for i, rec := range b.Records {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(rec.Raw, &obj); err != nil {
				return nil, fmt.Errorf("page %d record %d: %w", b.Page, i, err)
			}
			_ = json.Unmarshal(obj[key], &ids[i])
		}
	}
	for i, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("page %d record %d has no %s: %.120s", b.Page, i, key, b.Records[i].Raw)
		}
	}
	return slices.Clip(ids), nil
}
