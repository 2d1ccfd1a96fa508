package extract

import (
	"bytes"
	"context"
	"encoding/json"
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

// Batch is one page of records. A batch with a Bookmark must be committed
// together with that bookmark; the last batch of a run may carry only a
// bookmark.
type Batch struct {
	Records  []schema.Record
	Bookmark schema.Bookmark
	// Page is the 1-based page number within the run, for error messages.
	Page int
	// IDs is the key of each record, in order, for reports that can be
	// reconciled ("" for a record without one); nil otherwise. The walk
	// reads it while it decodes the record (see RecordIDs).
	IDs []string
}

// Request is one extraction of one report.
type Request struct {
	Report *Report
	// Bookmark is the state the last successful run committed (zero at
	// first).
	Bookmark schema.Bookmark
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
	// IDsOnly lists only the key of every object that exists now, for
	// reconciliation (Report.Reconcilable): the walk reads from the start
	// date without bookmark or window, asks only for the key and the fields
	// it orders by, and emits those partial records with their IDs, never
	// a bookmark (see ids.go).
	IDsOnly bool
	// Refetch names objects to read again after the walk (by id__in, see
	// refetch), for changes the walk's filter cannot see (activities the
	// event log reports edited after their attribution window).
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
	// Concurrency is how many windows of a long walk may be read at once
	// (the account's max_concurrency; see walk_split.go). 0 or 1: the
	// walk is one listing.
	Concurrency int
	// ExportAbove reads a first run or full refresh of a report with an
	// Export through Close's Export API when the walker's count probe finds
	// more records than this; 0 never does.
	ExportAbove int
}

// Extract reads the report with its walker (Report.Walk) and hands each
// page to emit, in order. It stops at the first error from the API or from
// emit, or when ctx is done.
func Extract(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	r := req.Report
	if r.Parent != "" {
		return fmt.Errorf("report %s is written with %s: extract %s instead", r.Name, r.Parent, r.Parent)
	}
	if req.IDsOnly && !r.Reconcilable() {
		return fmt.Errorf("report %s cannot be reconciled: only listings and searches of objects Close deletes can", r.Name)
	}
	if r.Walk == nil {
		return fmt.Errorf("report %s declares no walker", r.Name)
	}
	use, _, err := exportWanted(ctx, c, req)
	if err != nil {
		return fmt.Errorf("%s: count for the export threshold: %w", r.Name, err)
	}
	if use {
		return exportWalk(ctx, c, req, emit)
	}
	return r.Walk.Walk(ctx, c, req, emit)
}

// run is the state of one walk of one report, shared by the walkers: what
// it has emitted, the newest replication value it has read, and the
// placeholder values it has resolved.
type run struct {
	req     Request
	emit    func(Batch) error
	page    int
	maxSeen time.Time
	emitted schema.Bookmark   // the last bookmark handed to emit
	params  map[string]string // resolved placeholders
	// stop, for a window of a walk in Field order, is where the window
	// may be told to end, and ats the Field value of each record of the
	// page it emits (walk_split.go).
	stop *windowStop
	ats  []time.Time
}

// newRun starts a walk of req. An IDsOnly request lists from the start
// date with no bookmark and no window, and hands on only batches with
// records, without bookmarks (see ids.go).
func newRun(req Request, emit func(Batch) error) *run {
	if req.Now.IsZero() {
		req.Now = time.Now()
	}
	if req.IDsOnly {
		req.Bookmark, req.Window = schema.Bookmark{}, 0
		if next := emit; next != nil {
			emit = func(b Batch) error {
				if len(b.Records) == 0 {
					return nil
				}
				b.Bookmark = schema.Bookmark{}
				return next(b)
			}
		}
	}
	return &run{req: req, emit: emit}
}

// Date formats Close's filters take.
const (
	// filterTime is a date parameter filter's and a search's precision.
	filterTime = "2006-01-02T15:04:05.000000"
	// filterMinute is the legacy lead query's precision.
	filterMinute = "2006-01-02T15:04"
)

// from is where an incremental walk starts: a backfill window's or full
// refresh's start, else the strategy's read-from rule (Strategy.From).
func (x *run) from() time.Time {
	if ws, ok := x.windowStart(); ok {
		return ws
	}
	r := x.req.Report
	if b := x.req.Bookmark; futureBookmark(b, x.req.Now) {
		x.warn(fmt.Sprintf("%s: stored bookmark %s is in the future; ignoring it and reading from the start date", r.Name, b))
	}
	return r.Strategy.From(x.req.Bookmark, x.req.StartDate, x.req.Now, x.req.Window)
}

// query builds the incremental filter parameters of a listing.
func (x *run) query() (url.Values, error) {
	r, q := x.req.Report, url.Values{}
	if r.Method != Incremental {
		return q, nil
	}
	st := r.Strategy
	from := x.from()
	switch st.Filter {
	case LeadQuery:
		qs := "sort:created"
		if !x.req.Until.IsZero() {
			// Minute precision: the until minute is read too (an upsert).
			qs = fmt.Sprintf(`%s <= "%s" %s`, st.Field, x.req.Until.UTC().Format(filterMinute), qs)
		}
		if !from.IsZero() {
			qs = fmt.Sprintf(`%s >= "%s" %s`, st.Field, from.UTC().Format(filterMinute), qs)
		}
		q.Set("query", qs)
	case ParamFilter:
		if !from.IsZero() {
			q.Set(st.Field+"__gte", from.UTC().Format(filterTime))
		}
		if !x.req.Until.IsZero() {
			q.Set(st.Field+"__lt", x.req.Until.UTC().Format(filterTime))
		}
		if st.OrderBy != "" {
			q.Set("_order_by", st.OrderBy)
		}
	default:
		return nil, fmt.Errorf("%s: unknown filter %q", r.Name, st.Filter)
	}
	return q, nil
}

// sourceQuery is what one resolved source is asked: its own parameters,
// the filter q and, when listing ids, the fields that takes (_fields).
func (x *run) sourceQuery(s Source, q url.Values) url.Values {
	out := merge(s.Params, q)
	if x.req.IDsOnly {
		out.Set("_fields", strings.Join(x.idFields(), ","))
	}
	return out
}

// walkSources reads every source of a listing report with read, given
// the source resolved and its query, then the objects to refetch, then
// commits the final bookmark. It is the walk of every paging style but
// Search and Daily.
func (x *run) walkSources(ctx context.Context, c Client, read func(s Source, q url.Values) error) error {
	return x.walkEach(ctx, c, false, func(_ context.Context, _ *run, s Source, q url.Values) error { return read(s, q) })
}

// walkWindowed is walkSources for the walks that can be split into
// windows read at once (walk_split.go): read gets the context and the
// run of its window, which decodes its pages.
func (x *run) walkWindowed(ctx context.Context, c Client, read func(ctx context.Context, w *run, s Source, q url.Values) error) error {
	return x.walkEach(ctx, c, true, read)
}

func (x *run) walkEach(ctx context.Context, c Client, windowed bool, read func(ctx context.Context, w *run, s Source, q url.Values) error) error {
	r := x.req.Report
	q, err := x.query()
	if err != nil {
		return err
	}
	var wd *windowing
	if windowed {
		wd = x.windows()
	}
	for _, s := range r.Sources {
		s, err := x.resolve(ctx, c, s)
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
		sq := x.sourceQuery(s, q)
		if wd != nil {
			err = x.walkWindows(ctx, sq, wd, func(ctx context.Context, w *run, q url.Values) error { return read(ctx, w, s, q) })
		} else {
			err = read(ctx, x, s, sq)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	if len(x.req.Refetch) > 0 {
		if err := x.refetch(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", r.Name, err)
		}
	}
	if r.Method == Incremental {
		return x.finish()
	}
	return nil
}

// finish emits the run's bookmark when no batch carried it yet.
func (x *run) finish() error {
	b := x.bookmark()
	if b.IsZero() || same(b, x.req.Bookmark) || same(b, x.emitted) {
		return nil
	}
	return x.emit(Batch{Bookmark: b, Page: x.page + 1})
}

// estimateSources is the plan of a listing report: count estimates each
// resolved source from its query; one it cannot estimate (known false)
// leaves the plan unknown, with its note (prefixed by the source's path
// when the report has several), and an extrapolated one marks the plan
// Approx.
func (x *run) estimateSources(ctx context.Context, c Client,
	count func(c Client, s Source, q url.Values) (sourceCount, error)) (Plan, error) {
	r := x.req.Report
	p := Plan{Report: r.Name, Records: -1, Requests: -1}
	q, err := x.query()
	if err != nil {
		return p, err
	}
	p.Window = describeQuery(r, q)
	probe := &countingClient{Client: c}
	records, requests := 0, 0
	for _, s := range r.Sources {
		s, err := x.resolve(ctx, probe, s)
		if err != nil {
			return p, fmt.Errorf("%s: %w", r.Name, err)
		}
		n, err := count(probe, s, x.sourceQuery(s, q))
		if err != nil {
			return p, err
		}
		if !n.known {
			p.Probes, p.Note = probe.n, n.note
			if len(r.Sources) > 1 {
				p.Note = s.Path + ": " + n.note
			}
			return p, nil
		}
		records, requests = records+n.records, requests+n.requests
		if n.approx {
			p.Approx, p.Note = true, n.note
		}
	}
	p.Records, p.Requests, p.Probes = records, requests, probe.n
	return p, nil
}

// handler is a listing's page callback for the records of source tag.
func (x *run) handler(tag string) func(closeapi.Page) error {
	return func(p closeapi.Page) error {
		_, err := x.handlePage(p, tag)
		return err
	}
}

// handlePage emits one page of a listing as the run's next batch, with
// the bookmark when the walk is in bookmark order, and returns the last
// keyset value it read ("" when none).
func (x *run) handlePage(p closeapi.Page, tag string) (lastKey string, err error) {
	r := x.req.Report
	before := x.maxSeen
	b, seen, err := x.pageBatch(p.Data, tag)
	if err != nil {
		return "", err
	}
	full := false
	if x.stop != nil {
		b, seen, full = x.stopAt(b, seen, before)
	}
	for _, s := range seen {
		if s.key != "" {
			lastKey = s.key
		}
	}
	if r.Method == Incremental && r.Strategy.Ordered {
		b.Bookmark = x.bookmark()
		x.emitted = b.Bookmark
	}
	if x.stop != nil {
		x.ats = make([]time.Time, len(seen)) // a page's own: the emitting goroutine keeps it
		for i, s := range seen {
			x.ats[i] = s.at
		}
	}
	if len(b.Records) > 0 || !full {
		if err := x.emit(b); err != nil {
			return "", fmt.Errorf("page %d: %w", x.page, err)
		}
	}
	if full {
		return lastKey, errWindowFull
	}
	return lastKey, nil
}

// stopAt keeps of a window's page the records on its side of its stop,
// if it has one (and those without a Field value, which the listing's own
// bounds admitted), with the newest value seen recounted from before (the
// run's before the page) over them; full says a record beyond the stop
// was dropped, so the window is read to its end.
func (x *run) stopAt(b Batch, all []seen, before time.Time) (Batch, []seen, bool) {
	keep := 0
	x.maxSeen = before
	for i, s := range all {
		if x.stop.beyond(s.at) {
			continue
		}
		b.Records[keep], all[keep] = b.Records[i], s
		if len(b.IDs) == len(all) {
			b.IDs[keep] = b.IDs[i]
		}
		x.maxSeen = later(x.maxSeen, s.at)
		keep++
	}
	full := keep < len(all)
	if len(b.IDs) == len(all) {
		b.IDs = b.IDs[:keep]
	}
	b.Records, all = b.Records[:keep], all[:keep]
	return b, all, full
}

// seen is what a walk reads of one record besides the record itself.
type seen struct {
	id  string    // the one-column key, when the run lists ids
	key string    // the Strategy.Keyset value
	at  time.Time // the Strategy.Field value; zero when absent
}

// pageBatch turns a page of objects into the run's next batch.
func (x *run) pageBatch(data []json.RawMessage, tag string) (Batch, []seen, error) {
	x.page++
	b := Batch{Records: make([]schema.Record, 0, len(data)), Page: x.page}
	all := make([]seen, 0, len(data))
	for i, raw := range data {
		rec, s, err := x.record(raw, tag)
		if err != nil {
			return b, nil, fmt.Errorf("page %d record %d: %w", x.page, i, err)
		}
		b.Records, all = append(b.Records, rec), append(all, s)
		if x.wantIDs() {
			b.IDs = append(b.IDs, s.id)
		}
	}
	return b, all, nil
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

// record decodes one object, once: it derives the custom column, the
// key when the run lists ids, and the keyset and replication values,
// tracking the newest replication value seen.
func (x *run) record(raw json.RawMessage, tag string) (schema.Record, seen, error) {
	r := x.req.Report
	rec := schema.Record{Raw: raw, Tag: tag}
	var s seen
	custom := x.custom()
	if !custom && r.Method != Incremental && !x.wantIDs() {
		return rec, s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return rec, s, fmt.Errorf("not a JSON object: %w (%.120s)", err, raw)
	}
	if custom {
		rec.Custom = customFields(obj)
	}
	if k := r.Strategy.Keyset; k != "" {
		_ = json.Unmarshal(obj[k], &s.key) // no key: the walk cannot restart here
	}
	if x.wantIDs() {
		_ = json.Unmarshal(obj[r.Table.Key[0]], &s.id) // RecordIDs reports a missing one
	}
	if r.Method == Incremental {
		var v string
		if json.Unmarshal(obj[r.Strategy.Field], &v) == nil && v != "" {
			if t, err := parseTime(v); err == nil {
				s.at = t
				if t.After(x.maxSeen) {
					x.maxSeen = t
				}
			}
		}
	}
	return rec, s, nil
}

// custom reports whether the run collects custom fields.
func (x *run) custom() bool { return x.req.Report.Custom && !x.req.IDsOnly }

// bookmark is the state to commit: the newest replication value seen, never
// later than the run's start (minus the report's lag), never behind the
// previous bookmark.
func (x *run) bookmark() schema.Bookmark { return x.bookmarkAt(x.maxSeen) }

// bookmarkAt is the state to commit when everything up to seen has been
// read: bookmark's rules applied to seen.
func (x *run) bookmarkAt(seen time.Time) schema.Bookmark {
	if seen.IsZero() || !x.joinsBookmark() {
		return schema.Bookmark{}
	}
	b := seen
	if limit := x.req.Now.Add(-x.req.Report.Strategy.Lag); b.After(limit) {
		b = limit
	}
	if prev := x.req.Bookmark; !prev.IsZero() && b.Before(prev.Time()) {
		return x.unmoved()
	}
	return schema.BookmarkAt(b)
}

// same reports whether two bookmarks are the same time.
func same(a, b schema.Bookmark) bool { return a.Time().Equal(b.Time()) }

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

// merge copies parameter sets into a new one; later sets win per key.
func merge(sets ...url.Values) url.Values {
	out := url.Values{}
	for _, v := range sets {
		for k, vs := range v {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}
