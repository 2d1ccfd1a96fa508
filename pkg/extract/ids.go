package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/closesync/closesync/pkg/schema"
)

// Reconcilable reports whether the report's ids can all be listed: an
// offset listing or a search of objects that Close deletes (Table.Deletes).
func (r *Report) Reconcilable() bool {
	return r.Parent == "" && r.Table.Deletes != nil && (r.Paging == Offset || r.Paging == Search) && len(r.Table.Key) == 1
}

// idsOnly lists the id of every object of the report as it is now, for
// the reconciliation pass that finds rows deleted in Close without an event
// (older than the event log's 30 days, or missed while closesync was down).
// It walks the report's endpoint from the start date with no bookmark and
// _fields naming only the key and the fields the walk orders or restarts
// by, so it costs a fraction of a full sync. Batches carry those partial
// records and never a bookmark.
func idsOnly(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	r := req.Report
	if !r.Reconcilable() {
		return fmt.Errorf("report %s cannot be reconciled: only listings and searches of objects Close deletes can", r.Name)
	}
	fields := []string{r.Table.Key[0]}
	for _, f := range []string{r.Strategy.Keyset, r.Strategy.Field} {
		if f != "" && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	cp := *r
	cp.Custom = false
	if r.Paging == Search {
		// A search returns the fields _fields names: the key and the sort
		// field only, and no custom fields.
		var cols []schema.Column
		for _, f := range fields {
			if c, ok := r.Table.Column(f); ok {
				cols = append(cols, c)
			}
		}
		cp.Table = schema.Table{Name: r.Table.Name, Columns: cols, Key: r.Table.Key, Order: r.Table.Order}
	}
	cp.Sources = make([]Source, len(r.Sources))
	for i, s := range r.Sources {
		p := cloneValues(s.Params)
		p.Set("_fields", strings.Join(fields, ","))
		cp.Sources[i] = Source{Path: s.Path, Params: p, Tag: s.Tag}
	}
	full := req
	full.Report, full.Bookmark, full.Window, full.IDsOnly = &cp, "", 0, false
	return Extract(ctx, c, full, func(b Batch) error {
		b.Bookmark = ""
		if len(b.Records) == 0 {
			return nil
		}
		return emit(b)
	})
}

// RecordIDs reads the key of each record of an IDsOnly batch.
func RecordIDs(r *Report, b Batch) ([]string, error) {
	key := r.Table.Key[0]
	ids := make([]string, 0, len(b.Records))
	for i, rec := range b.Records {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(rec.Raw, &obj); err != nil {
			return nil, fmt.Errorf("page %d record %d: %w", b.Page, i, err)
		}
		var id string
		if err := json.Unmarshal(obj[key], &id); err != nil || id == "" {
			return nil, fmt.Errorf("page %d record %d has no %s: %.120s", b.Page, i, key, rec.Raw)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
