package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// Client is what extraction needs from the Close client (*closeapi.Client).
type Client interface {
	Get(ctx context.Context, path string, q url.Values, out any) error
	ListOffset(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error
	ListCursor(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error
	Post(ctx context.Context, path string, body, out any) error
	Search(ctx context.Context, body map[string]any, fn func(closeapi.Page) error) error
}

// Record is one object as the API returned it, plus what extraction derived
// from it.
//
// It is schema.Record, the type the store takes; the alias goes once
// pkg/extract names schema.Record itself.
type Record = schema.Record

// Batch is one page of records. A batch with a Bookmark must be committed
// together with that bookmark; the last batch of a run may carry only a
// bookmark.
type Batch struct {
	Records  []Record
	Bookmark string
	// Page is the 1-based page number within the run, for error messages.
	Page int
}

// Request is one extraction of one report.
type Request struct {
	Report *Report
	// Bookmark is the state the last successful run committed ("" at first).
	Bookmark string
	// StartDate bounds the first run of an incremental report (zero: all).
	StartDate time.Time
	// Window overrides the report's attribution window when non-zero.
	Window time.Duration
	// Now is the run's start; bookmarks never pass it.
	Now time.Time
	// Warn receives problems that do not stop the run (may be nil).
	Warn func(msg string)
	// Params fill {organization_id} and {user_id} in source paths; missing
	// ones are discovered from /me/.
	Params map[string]string
	// IDsOnly lists only the key of every object that exists now (for
	// reconciliation): no filter but the start date, no bookmark.
	IDsOnly bool
	// Refetch names objects to read again one by one after the walk, for
	// changes the walk's filter cannot see (activities the event log reports
	// edited after their attribution window).
	Refetch []string
	// Since, when set, makes the run a backfill of a window: the walk reads
	// from Since (not from the bookmark) up to Until (zero: now). The
	// bookmark it commits never moves back, and moves forward only when the
	// window starts at or before the stored bookmark, so no range between
	// them is skipped (see window.go).
	Since, Until time.Time
	// FullRefresh re-reads an incremental report from the start date as a
	// first run would, keeping the stored bookmark as a floor.
	FullRefresh bool
}

// Extract reads the report and hands each page to emit, in order. It stops
// at the first error from the API or from emit, or when ctx is done.
func Extract(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	r := req.Report
	if r.Parent != "" {
		return fmt.Errorf("report %s is written with %s: extract %s instead", r.Name, r.Parent, r.Parent)
	}
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	x := &run{req: req, emit: emit}
	if req.IDsOnly {
		return idsOnly(ctx, c, req, emit)
	}
	if r.Paging == Daily {
		return x.daily(ctx, c)
	}
	if r.Paging == Search {
		return x.search(ctx, c)
	}
	q, err := x.query()
	if err != nil {
		return err
	}
	for _, s := range r.Sources {
		s, err := x.resolve(ctx, c, s)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		params := cloneValues(s.Params)
		for k, v := range q {
			params[k] = v
		}
		if err := x.list(ctx, c, s, params); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	if len(req.Refetch) > 0 {
		if err := x.refetch(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	if r.Method == Incremental {
		if b := x.bookmark(); b != "" && b != req.Bookmark && b != x.emitted {
			return emit(Batch{Bookmark: b, Page: x.page + 1})
		}
	}
	return nil
}

type run struct {
	req     Request
	emit    func(Batch) error
	page    int
	maxSeen time.Time
	emitted string            // the last bookmark handed to emit
	lastKey string            // the keyset field of the last record read
	params  map[string]string // resolved placeholders
}

// query builds the incremental filter parameters.
func (x *run) query() (url.Values, error) {
	r, q := x.req.Report, url.Values{}
	if r.Method != Incremental {
		return q, nil
	}
	st := r.Strategy
	from := x.req.StartDate
	b, ok, err := x.resumePoint(x.req.Now.Add(time.Minute))
	if err != nil {
		return nil, err
	}
	if ok {
		from = b
	}
	if !from.IsZero() {
		window := st.Window
		if x.req.Window > 0 {
			window = x.req.Window
		}
		// The attribution window re-reads recent records only on later runs;
		// the first run starts exactly at start_date.
		if x.req.Bookmark != "" {
			from = from.Add(-st.Overlap - window)
		}
		if from.Before(x.req.StartDate) {
			from = x.req.StartDate
		}
	}
	if ws, ok := x.windowStart(); ok {
		from = ws
	}
	switch st.Filter {
	case LeadQuery:
		qs := "sort:created"
		if !x.req.Until.IsZero() {
			// Minute precision: the until minute is read too (an upsert).
			qs = fmt.Sprintf(`%s <= "%s" %s`, st.Field, x.req.Until.UTC().Format("2006-01-02T15:04"), qs)
		}
		if !from.IsZero() {
			qs = fmt.Sprintf(`%s >= "%s" %s`, st.Field, from.UTC().Format("2006-01-02T15:04"), qs)
		}
		q.Set("query", qs)
	case ParamFilter:
		if !from.IsZero() {
			q.Set(st.Field+"__gte", from.UTC().Format("2006-01-02T15:04:05.000000"))
		}
		if !x.req.Until.IsZero() {
			q.Set(st.Field+"__lt", x.req.Until.UTC().Format("2006-01-02T15:04:05.000000"))
		}
		if st.OrderBy != "" {
			q.Set("_order_by", st.OrderBy)
		}
	default:
		return nil, fmt.Errorf("%s: unknown filter %q", r.Name, st.Filter)
	}
	return q, nil
}

func (x *run) list(ctx context.Context, c Client, s Source, q url.Values) error {
	r := x.req.Report
	handle := func(p closeapi.Page) error {
		b, err := x.pageBatch(p.Data, s.Tag)
		if err != nil {
			return err
		}
		if r.Method == Incremental && r.Strategy.Ordered {
			b.Bookmark = x.bookmark()
			x.emitted = b.Bookmark
		}
		if err := x.emit(b); err != nil {
			return fmt.Errorf("page %d: %w", x.page, err)
		}
		return nil
	}
	switch r.Paging {
	case Offset:
		if r.Method == Incremental && r.Strategy.Keyset != "" {
			return x.keysetWalk(ctx, c, s, q, handle)
		}
		return c.ListOffset(ctx, s.Path, q, r.PageSize, handle)
	case Cursor:
		return c.ListCursor(ctx, s.Path, q, r.PageSize, handle)
	case Object:
		// An object with an id, or ErrNotAPage: a 200 that is an error
		// object, an HTML page or empty must not replace the table.
		var obj closeapi.Object
		if err := c.Get(ctx, s.Path, q, &obj); err != nil {
			return err
		}
		return handle(closeapi.Page{Data: []json.RawMessage{obj.Raw}})
	case Single:
		var resp closeapi.SinglePage // a data array, or ErrNotAPage
		if err := c.Get(ctx, s.Path, q, &resp); err != nil {
			return err
		}
		return handle(closeapi.Page{Data: resp.Data})
	}
	return fmt.Errorf("unknown paging %q", r.Paging)
}

// resumePoint is the stored bookmark as a time; ok is false when there is
// none, or when it is after limit (a clock gone wrong, or a foreign file):
// then it is ignored, with a warning, and the run reads from the start date.
func (x *run) resumePoint(limit time.Time) (b time.Time, ok bool, err error) {
	r := x.req.Report
	if x.req.Bookmark == "" {
		return time.Time{}, false, nil
	}
	b, err = parseTime(x.req.Bookmark)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%s: stored bookmark %q is not a time: %w", r.Name, x.req.Bookmark, err)
	}
	if b.After(limit) {
		x.warn(fmt.Sprintf("%s: stored bookmark %s is in the future; ignoring it and reading from the start date", r.Name, x.req.Bookmark))
		return time.Time{}, false, nil
	}
	return b, true, nil
}

// pageBatch turns a page of objects into the run's next batch.
func (x *run) pageBatch(data []json.RawMessage, tag string) (Batch, error) {
	x.page++
	b := Batch{Records: make([]Record, 0, len(data)), Page: x.page}
	for i, raw := range data {
		rec, err := x.record(raw, tag)
		if err != nil {
			return b, fmt.Errorf("page %d record %d: %w", x.page, i, err)
		}
		b.Records = append(b.Records, rec)
	}
	return b, nil
}

// restartEvery is how many records a keyset walk reads before it restarts
// from the last key seen. Close's max_skip varies by resource and is not
// published (250,000 was seen for emails), so the walk restarts long before
// any plausible cap, and again at once if a max_skip 400 names a smaller one.
const restartEvery = 10000

// errRestart stops one offset listing so the walk can restart.
var errRestart = errors.New("restart the walk from the last key")

// keysetWalk pages through an offset listing sorted by the strategy's
// immutable Keyset field, restarting it with <key> >= last value seen
// whenever _skip would near the resource's max_skip. Records at the restart
// boundary are read twice, which upserts make harmless; no record is
// skipped, whatever the size of the organisation.
func (x *run) keysetWalk(ctx context.Context, c Client, s Source, q url.Values, handle func(closeapi.Page) error) error {
	r := x.req.Report
	key := r.Strategy.Keyset
	every := restartEvery
	var from string // the key the current listing starts at
	for {
		var last string
		var read int
		err := c.ListOffset(ctx, s.Path, x.keysetQuery(q, from), r.PageSize, func(p closeapi.Page) error {
			if err := handle(p); err != nil {
				return err
			}
			read += len(p.Data)
			if n := len(p.Data); n > 0 {
				last = x.lastKey
			}
			if p.HasMore && read+r.PageSize > every {
				return errRestart
			}
			return nil
		})
		var mse *closeapi.MaxSkipError
		switch {
		case err == nil:
			return nil
		case errors.Is(err, errRestart):
		case errors.As(err, &mse) && last != "":
			if mse.Max > r.PageSize {
				every = mse.Max
			} else {
				every = max(read, r.PageSize)
			}
		default:
			return err
		}
		if last == "" || last == from {
			return fmt.Errorf("more than %d records share %s %s: cannot page past the API's max_skip", every, key, from)
		}
		from = last
	}
}

// keysetQuery adds the restart condition to the walk's query.
func (x *run) keysetQuery(q url.Values, from string) url.Values {
	if from == "" {
		return q
	}
	out := cloneValues(q)
	key := x.req.Report.Strategy.Keyset
	t, err := parseTime(from)
	if err != nil {
		return out
	}
	if x.req.Report.Strategy.Filter == LeadQuery {
		// The legacy query compares at minute precision: the records of the
		// boundary minute are read again.
		out.Set("query", fmt.Sprintf(`%s >= "%s" %s`, key, t.UTC().Format("2006-01-02T15:04"), out.Get("query")))
		return out
	}
	out.Set(key+"__gte", t.UTC().Format("2006-01-02T15:04:05.000000"))
	return out
}

// placeholders are the ids a source path or parameter may name.
var placeholders = []string{"organization_id", "user_id"}

// resolve fills a source's placeholders from the request's params, asking
// /me/ once for any that the job does not set.
func (x *run) resolve(ctx context.Context, c Client, s Source) (Source, error) {
	needs := func(text string) bool {
		for _, p := range placeholders {
			if strings.Contains(text, "{"+p+"}") {
				return true
			}
		}
		return false
	}
	uses := needs(s.Path)
	for _, vs := range s.Params {
		for _, v := range vs {
			uses = uses || needs(v)
		}
	}
	if !uses {
		return s, nil
	}
	if _, err := x.ids(ctx, c); err != nil {
		return s, err
	}
	fill := func(text string) (string, error) {
		for _, p := range placeholders {
			if strings.Contains(text, "{"+p+"}") {
				if x.params[p] == "" {
					return "", fmt.Errorf("no %s: set it on the job (/me/ names none)", p)
				}
				text = strings.ReplaceAll(text, "{"+p+"}", url.PathEscape(x.params[p]))
			}
		}
		return text, nil
	}
	out := Source{Tag: s.Tag, Params: url.Values{}}
	var err error
	if out.Path, err = fill(s.Path); err != nil {
		return s, err
	}
	for k, vs := range s.Params {
		for _, v := range vs {
			fv, err := fill(v)
			if err != nil {
				return s, err
			}
			out.Params.Add(k, fv)
		}
	}
	return out, nil
}

// ids are the run's placeholder values: the job's, with the user and
// organization it does not set discovered from /me/ (asked once a run).
func (x *run) ids(ctx context.Context, c Client) (map[string]string, error) {
	if x.params == nil {
		x.params = map[string]string{}
		for k, v := range x.req.Params {
			if v != "" {
				x.params[k] = v
			}
		}
	}
	if x.params["organization_id"] == "" || x.params["user_id"] == "" {
		var me struct {
			ID            string `json:"id"`
			Organizations []struct {
				ID string `json:"id"`
			} `json:"organizations"`
		}
		if err := c.Get(ctx, "/me/", nil, &me); err != nil {
			return nil, fmt.Errorf("discover the organization and user from /me/: %w", err)
		}
		if x.params["user_id"] == "" {
			x.params["user_id"] = me.ID
		}
		if x.params["organization_id"] == "" && len(me.Organizations) > 0 {
			x.params["organization_id"] = me.Organizations[0].ID
		}
	}
	return x.params, nil
}

// record derives the custom column and tracks the replication field.
func (x *run) record(raw json.RawMessage, tag string) (Record, error) {
	r := x.req.Report
	rec := Record{Raw: raw, Tag: tag}
	if !r.Custom && r.Method != Incremental {
		return rec, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return rec, fmt.Errorf("not a JSON object: %w (%.120s)", err, raw)
	}
	if r.Custom {
		rec.Custom = customFields(obj)
	}
	if k := r.Strategy.Keyset; k != "" {
		var v string
		if json.Unmarshal(obj[k], &v) == nil {
			x.lastKey = v
		}
	}
	if r.Method == Incremental {
		if v, ok := obj[r.Strategy.Field]; ok {
			var s string
			if json.Unmarshal(v, &s) == nil && s != "" {
				if t, err := parseTime(s); err == nil && t.After(x.maxSeen) {
					x.maxSeen = t
				}
			}
		}
	}
	return rec, nil
}

// bookmark is the state to commit: the newest replication value seen, never
// later than the run's start (minus the report's lag), never behind the
// previous bookmark.
func (x *run) bookmark() string {
	if x.maxSeen.IsZero() || !x.joinsBookmark() {
		return ""
	}
	b := x.maxSeen
	if limit := x.req.Now.Add(-x.req.Report.Strategy.Lag); b.After(limit) {
		b = limit
	}
	if prev, err := parseTime(x.req.Bookmark); err == nil && b.Before(prev) {
		return x.unmoved()
	}
	return b.UTC().Format(time.RFC3339Nano)
}

func (x *run) warn(msg string) {
	if x.req.Warn != nil {
		x.req.Warn(msg)
	}
}

// customFields gathers Close's flat "custom.<field id>" keys into one JSON
// object keyed by field id; nil when the record has none.
func customFields(obj map[string]json.RawMessage) json.RawMessage {
	var keys []string
	for k := range obj {
		if strings.HasPrefix(k, "custom.") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(strings.TrimPrefix(k, "custom."))
		b.Write(name)
		b.WriteByte(':')
		b.Write(obj[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999", // naive: Close's newer services, UTC
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTime reads the timestamp shapes Close uses; naive ones are UTC.
func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognised timestamp %q", s)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
