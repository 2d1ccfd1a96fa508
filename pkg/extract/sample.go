package extract

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// sourceCount is what a dry run found out about one source of a report.
type sourceCount struct {
	records, requests int
	known             bool   // records and requests are estimates
	approx            bool   // records are extrapolated from a first page
	note              string // how they were found, or why they are unknown
}

// Notes of a Plan, one short reason each.
const (
	noteSampled   = "from the first page's dates"
	noteNoCount   = "more than one page and no count or date order to extrapolate"
	noteNoSpan    = "the first page's dates span no time"
	noteNoDates   = "the first page has no dates to extrapolate"
	noteDaily     = "rows per day, user and metric are known only once read"
	eventLogReach = 30 * 24 * time.Hour // the event log keeps 30 days
)

// errSampled stops a listing after its first page.
var errSampled = errors.New("sampled the first page")

// firstPage runs a listing and returns its first page, stopping there.
func firstPage(list func(fn func(closeapi.Page) error) error) (closeapi.Page, error) {
	var first closeapi.Page
	err := list(func(p closeapi.Page) error {
		first = p
		return errSampled
	})
	if errors.Is(err, errSampled) {
		err = nil
	}
	return first, err
}

// sampleOrder is how a listing's records are ordered by field, for
// fromSample: ascending (offset walks by their keyset, searches) or
// newest first (the event log).
type sampleOrder struct {
	field string // "" when the listing has no date order
	asc   bool
}

// fromSample estimates a listing from its first page, read as the walk
// reads it. The only page is exact. A full page of a listing in date order
// is extrapolated at the page's rate (records per second between its first
// and last dates) over the rest of the period the listing covers: from the
// page's last date to now (ascending), or from its oldest date back to
// from (newest first; the event log's 30 days when from is older).
func fromSample(p closeapi.Page, pageSize int, o sampleOrder, from, now time.Time) sourceCount {
	n := len(p.Data)
	if !p.HasMore {
		return sourceCount{records: n, requests: 1, known: true}
	}
	if o.field == "" {
		return sourceCount{note: noteNoCount}
	}
	first, ok1 := recordTime(p.Data[0], o.field)
	last, ok2 := recordTime(p.Data[n-1], o.field)
	if !ok1 || !ok2 {
		return sourceCount{note: noteNoDates}
	}
	span, rest := last.Sub(first), now.Sub(last)
	if !o.asc {
		if floor := now.Add(-eventLogReach); from.IsZero() || from.Before(floor) {
			from = floor
		}
		span, rest = first.Sub(last), last.Sub(from)
	}
	if span <= 0 {
		return sourceCount{note: noteNoSpan}
	}
	total := n + int(float64(n)*max(0, rest.Seconds())/span.Seconds())
	return sourceCount{records: total, requests: max(1, (total+pageSize-1)/pageSize), known: true, approx: true, note: noteSampled}
}

// recordTime reads a record's date field.
func recordTime(raw json.RawMessage, field string) (time.Time, bool) {
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		return time.Time{}, false
	}
	s, ok := rec[field].(string)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseTime(s)
	return t, err == nil
}

// offsetOrder is the date order of an Offset walk's listing: its keyset
// (ascending), else an ascending _order_by; none for a full refresh.
func offsetOrder(r *Report) sampleOrder {
	st := r.Strategy
	switch {
	case r.Method != Incremental:
		return sampleOrder{}
	case st.Keyset != "":
		return sampleOrder{field: st.Keyset, asc: true}
	case st.OrderBy != "" && st.OrderBy[0] != '-':
		return sampleOrder{field: st.OrderBy, asc: true}
	}
	return sampleOrder{}
}

// sampleOffset reads the first page of an offset listing as the walk does
// (same filters and page size) and estimates from it.
func (x *run) sampleOffset(ctx context.Context, c Client, s Source, q url.Values, pageSize int) (sourceCount, error) {
	p, err := firstPage(func(fn func(closeapi.Page) error) error { return c.ListOffset(ctx, s.Path, q, pageSize, fn) })
	if err != nil {
		return sourceCount{}, err
	}
	return fromSample(p, pageSize, offsetOrder(x.req.Report), x.from(), x.req.Now), nil
}
