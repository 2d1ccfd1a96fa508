package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// windowLog counts the fake's listing requests that bound their window
// from above (<field>__lt), and keeps the bounds (<field>__gte and __lt) of
// each listing's first page (no _skip, no _cursor).
type windowLog struct {
	next    http.Handler
	field   string
	mu      sync.Mutex
	bounded int
	starts  [][2]string // each listing's first page: its <field>__gte and __lt
}

func (l *windowLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	l.mu.Lock()
	for k := range q {
		if strings.HasSuffix(k, "__lt") {
			l.bounded++
			break
		}
	}
	if !q.Has("_skip") && !q.Has("_cursor") {
		l.starts = append(l.starts, [2]string{q.Get(l.field + "__gte"), q.Get(l.field + "__lt")})
	}
	l.mu.Unlock()
	l.next.ServeHTTP(w, r)
}

func (l *windowLog) reset(field string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.field, l.bounded, l.starts = field, 0, nil
}

// splits counts the listings of a walk bounded where none of its windows
// was cut, nor where the walk starts, nor (a keyset restart) at a record's
// value: the windows split off a running one (oldest first the new window
// starts at the split, newest first it ends there).
func (l *windowLog) splits(t *testing.T, req Request, w walked) int {
	t.Helper()
	x := newRun(req, nil)
	known := map[int64]bool{x.from().UnixMicro(): true}
	if wd := x.windows(); wd != nil {
		known[wd.lo.UnixMicro()] = true
		for _, c := range wd.cuts {
			known[c.UnixMicro()] = true
		}
	}
	for _, at := range w.at {
		known[at.UnixMicro()] = true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, bounds := range l.starts {
		for _, b := range bounds {
			if b == "" {
				continue
			}
			at, err := parseTime(b)
			if err != nil {
				t.Fatalf("listing bounded at %q: %v", b, err)
			}
			if !known[at.UnixMicro()] {
				n++
				break
			}
		}
	}
	return n
}

// walked is what one walk emitted: each record's id and Field value with
// the index of its batch, and each batch's bookmark.
type walked struct {
	ids       map[string]bool
	at        []time.Time // Field of each record
	batchOf   []int       // batch of each record
	bookmarks []schema.Bookmark
}

func walkOnce(t *testing.T, c Client, req Request) walked {
	t.Helper()
	field := req.Report.Strategy.Field
	out := walked{ids: map[string]bool{}}
	err := Extract(context.Background(), c, req, func(b Batch) error {
		for _, rec := range b.Records {
			var obj map[string]any
			if err := json.Unmarshal(rec.Raw, &obj); err != nil {
				return err
			}
			at, err := parseTime(obj[field].(string))
			if err != nil {
				return err
			}
			out.ids[obj["id"].(string)] = true
			out.at, out.batchOf = append(out.at, at), append(out.batchOf, len(out.bookmarks))
		}
		out.bookmarks = append(out.bookmarks, b.Bookmark)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loggedFake serves the fake of seed and scale, its clock stopped at now
// and latency added to each answer, through a windowLog, and returns a
// client of it.
func loggedFake(t *testing.T, seed int64, scale int, now time.Time, latency time.Duration) (*closefake.Server, *windowLog, Client) {
	t.Helper()
	fake := closefake.New(closefake.Options{Seed: seed, Scale: scale, Now: func() time.Time { return now }, Latency: latency})
	log := &windowLog{next: fake}
	srv := httptest.NewServer(log)
	t.Cleanup(srv.Close)
	c, err := closeapi.New(closeapi.Config{Account: "t", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	return fake, log, c
}

// TestWindowedWalksReadWhatOneListingReads: the event log and activities,
// walked in windows (two and four at once), read the same records as one
// listing and end at the same bookmark; every bookmark a batch carries is
// below every record emitted after it (so a run stopped after any commit
// misses nothing); an incremental run stays one listing, even from an old
// bookmark.
func TestWindowedWalksReadWhatOneListingReads(t *testing.T) {
	now := time.Now().UTC()
	fake, log, c := loggedFake(t, 3, 300, now, 0)
	start := now.AddDate(-3, 0, 0)
	// recent is days back, not hours: the fake's data follows the clock, and
	// a few hours may hold no event at all.
	recent, old := schema.BookmarkAt(now.AddDate(0, 0, -3)), schema.BookmarkAt(now.AddDate(0, 0, -20))
	for _, name := range []string{"event_log", "activities", "activities_call"} {
		rep, _ := Lookup(name)
		for _, tc := range []struct {
			name     string
			bookmark schema.Bookmark
			split    bool
		}{{"first sync", schema.Bookmark{}, true}, {"incremental", recent, false}, {"incremental from an old bookmark", old, false}} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				req := Request{Report: rep, StartDate: start, Now: now, Params: map[string]string{"organization_id": fake.OrganizationID()},
					Bookmark: tc.bookmark}
				log.reset(rep.Strategy.Field)
				one := walkOnce(t, c, req)
				if log.bounded != 0 {
					t.Fatalf("one listing sent %d bounded requests", log.bounded)
				}
				for _, concurrency := range []int{4, 8} {
					req.Concurrency = concurrency
					log.reset(rep.Strategy.Field)
					four := walkOnce(t, c, req)
					if split := log.bounded > 0; split != tc.split {
						t.Fatalf("max_concurrency %d: split into windows: %v (%d bounded requests), want %v", concurrency, split, log.bounded, tc.split)
					}
					if splits := log.splits(t, req, four); splits > 0 && !tc.split {
						t.Errorf("max_concurrency %d: %d windows split off running ones, want none", concurrency, splits)
					}
					compareWalks(t, one, four, tc.bookmark)
				}
			})
		}
	}
}

// TestWindowedWalkSplitsTheFullestWindow: the fake dates each activity
// between its lead's creation and now, so activities, and the events of
// the last 30 days, crowd towards now faster than the cuts expect and the
// newest window holds most of them. Once the other windows end, the
// fullest is split as it runs (activities come oldest first, events
// newest first), so as many windows keep reading as at the start, and the
// walk still reads what one listing reads, with every bookmark below what
// it emits later.
func TestWindowedWalkSplitsTheFullestWindow(t *testing.T) {
	now := time.Now().UTC()
	// A millisecond a page, as over a network: the windows then read at
	// one pace, whatever else shares the CPU, and the fullest is the one
	// left reading.
	fake, log, c := loggedFake(t, 5, 1000, now, time.Millisecond)
	for _, name := range []string{"activities", "event_log"} {
		t.Run(name, func(t *testing.T) {
			rep, _ := Lookup(name)
			req := Request{Report: rep, StartDate: now.AddDate(-3, 0, 0), Now: now, Params: map[string]string{"organization_id": fake.OrganizationID()}}
			one := walkOnce(t, c, req)
			splits := map[int]int{}
			for _, concurrency := range []int{4, 8} {
				req.Concurrency = concurrency
				log.reset(rep.Strategy.Field)
				split := walkOnce(t, c, req)
				splits[concurrency] = log.splits(t, req, split)
				compareWalks(t, one, split, schema.Bookmark{})
			}
			// The activities' newest window holds most of them at either
			// concurrency; the event log's 30 days are less uneven, and two
			// windows of them may end close enough together that no split
			// pays (minSplitPages), so it is split at one of the two.
			if name == "activities" && (splits[4] == 0 || splits[8] == 0) || splits[4]+splits[8] == 0 {
				t.Errorf("windows split off running ones: %v by max_concurrency", splits)
			}
		})
	}
}

// compareWalks checks that the windowed walk four read what the one
// listing one did, ended at its bookmark, and committed no bookmark past a
// record it emitted later.
func compareWalks(t *testing.T, one, four walked, from schema.Bookmark) {
	t.Helper()
	if len(one.ids) == 0 || !maps.Equal(one.ids, four.ids) {
		t.Errorf("windows read %d records, one listing %d, or not the same", len(four.ids), len(one.ids))
	}
	last := func(w walked) schema.Bookmark {
		for _, b := range slices.Backward(w.bookmarks) {
			if !b.IsZero() {
				return b
			}
		}
		return schema.Bookmark{}
	}
	if a, b := last(one), last(four); !same(a, b) {
		t.Errorf("final bookmark %s in windows, %s in one listing", b, a)
	}
	for j, bm := range four.bookmarks {
		if bm.IsZero() || same(bm, from) {
			continue
		}
		for i, at := range four.at {
			if four.batchOf[i] > j && at.Before(bm.Time()) {
				t.Fatalf("batch %d commits bookmark %s, but batch %d then brings a record at %s", j, bm, four.batchOf[i], at)
			}
		}
	}
}

// TestWindowedWalkCancelled: a windowed walk whose context ends fails with
// the cancellation (so no final bookmark is emitted for windows not read).
func TestWindowedWalkCancelled(t *testing.T) {
	now := time.Now().UTC()
	fake := closefake.New(closefake.Options{Seed: 3, Scale: 300, Now: func() time.Time { return now }})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	c, err := closeapi.New(closeapi.Config{Account: "t", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"event_log", "activities"} {
		t.Run(name, func(t *testing.T) {
			rep, _ := Lookup(name)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req := Request{Report: rep, StartDate: now.AddDate(-3, 0, 0), Now: now, Concurrency: 4,
				Params: map[string]string{"organization_id": fake.OrganizationID()}}
			pages := 0
			err := Extract(ctx, c, req, func(b Batch) error {
				if pages++; pages == 2 {
					cancel()
				}
				return nil
			})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("walk cancelled after 2 pages: %v, want the cancellation", err)
			}
		})
	}
}

// TestWindowsFor: a walk takes half the account's requests in flight as
// windows; below two it is one listing.
func TestWindowsFor(t *testing.T) {
	for _, tc := range []struct{ concurrency, windows int }{{0, 0}, {1, 0}, {2, 1}, {3, 1}, {4, 2}, {8, 4}, {9, 4}, {64, 32}} {
		if got := windowsFor(tc.concurrency); got != tc.windows {
			t.Errorf("windowsFor(%d) = %d, want %d", tc.concurrency, got, tc.windows)
		}
	}
}

// TestCutsShareAGrowingRate: the cuts split records whose rate grows
// linearly from an origin (an organisation's activities and events, as
// leads accumulate since the start date) into windows of equal counts:
// from the origin the spans shrink towards now (equal spans would leave
// the newest window most of them); over the last 30 days of three years
// (the event log) they are nearly equal.
func TestCutsShareAGrowingRate(t *testing.T) {
	origin := time.Date(2023, 12, 3, 0, 0, 0, 0, time.UTC)
	now := origin.Add(3 * 365 * 24 * time.Hour)
	// Records at a rate growing linearly from origin: the k-th of total
	// lies at origin + span·√(k/total).
	const total = 100000
	records := make([]time.Time, total)
	for k := range records {
		records[k] = origin.Add(time.Duration(float64(now.Sub(origin)) * math.Sqrt((float64(k)+0.5)/total)))
	}
	for _, tc := range []struct {
		name string
		lo   time.Time
		// shrink: each span shorter than the one before; else within
		// 3% of equal (the rate grows by 2.7% over the 30 days).
		shrink bool
	}{
		{"from the origin", origin, true},
		{"the last 30 days", now.Add(-30 * 24 * time.Hour), false},
	} {
		var in []time.Time
		for _, at := range records {
			if !at.Before(tc.lo) {
				in = append(in, at)
			}
		}
		for _, n := range []int{0, 1, 2, 3, 4, 8, 32} {
			cuts := cutsAt(origin, tc.lo, now, n)
			if n < 2 {
				if cuts != nil {
					t.Errorf("%s, %d windows: cuts %v, want none", tc.name, n, cuts)
				}
				continue
			}
			if len(cuts) != n-1 {
				t.Fatalf("%s, %d windows: %d cuts", tc.name, n, len(cuts))
			}
			bounds := append(append([]time.Time{tc.lo}, cuts...), now)
			equal := now.Sub(tc.lo) / time.Duration(n)
			for i := 1; i < len(bounds); i++ {
				span := bounds[i].Sub(bounds[i-1])
				switch {
				case span <= 0:
					t.Fatalf("%s, %d windows: cut %d at %s, not after %s", tc.name, n, i, bounds[i], bounds[i-1])
				case tc.shrink && i > 1 && span >= bounds[i-1].Sub(bounds[i-2]):
					t.Errorf("%s, %d windows: window %d spans %s, not shorter than the one before", tc.name, n, i, span)
				case !tc.shrink && (span < equal*97/100 || span > equal*103/100):
					t.Errorf("%s, %d windows: window %d spans %s, want about %s", tc.name, n, i, span, equal)
				}
			}
			for i := range n {
				got := 0
				for _, at := range in {
					if !at.Before(bounds[i]) && at.Before(bounds[i+1]) {
						got++
					}
				}
				if want := len(in) / n; got < want-2 || got > want+2 {
					t.Errorf("%s, %d windows: window %d holds %d records, want %d", tc.name, n, i+1, got, want)
				}
			}
		}
	}
	if cuts := cutsAt(now, origin, now, 2); len(cuts) != 1 || !cuts[0].Equal(origin.Add(time.Duration(float64(now.Sub(origin))*math.Sqrt(0.5))).Truncate(time.Microsecond)) {
		t.Errorf("an origin after lo counts from lo: %v", cuts)
	}
}

// TestStopAt: a split window keeps of a page the records before its stop
// (and those without a Field value), recounts the newest value seen over
// them, and says whether it dropped any (then it has read to its end).
func TestStopAt(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	for _, tc := range []struct {
		name        string
		newestFirst bool
		ats         []time.Time
		stop        time.Time
		kept        []int
		full        bool
		maxSeen     time.Time
		previous    time.Time
	}{
		{"all before", false, []time.Time{at(1), at(2)}, at(3), []int{0, 1}, false, at(2), at(0)},
		{"cut inside", false, []time.Time{at(1), at(2), at(3), at(4)}, at(3), []int{0, 1}, true, at(2), at(0)},
		{"at the stop is the next window's", false, []time.Time{at(3)}, at(3), nil, true, at(0), at(0)},
		{"no value stays", false, []time.Time{{}, at(5)}, at(3), []int{0}, true, at(0), at(0)},
		{"the newest seen before the page counts", false, []time.Time{at(1)}, at(3), []int{0}, false, at(2), at(2)},
		{"newest first: all after", true, []time.Time{at(6), at(5)}, at(3), []int{0, 1}, false, at(6), at(0)},
		{"newest first: cut inside", true, []time.Time{at(5), at(3), at(2), at(1)}, at(3), []int{0, 1}, true, at(5), at(0)},
		{"no stop set", false, []time.Time{at(1), at(9)}, time.Time{}, []int{0, 1}, false, at(9), at(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &run{maxSeen: at(9), stop: &windowStop{newestFirst: tc.newestFirst}} // maxSeen as record() may leave it
			if !tc.stop.IsZero() {
				x.stop.set(tc.stop)
			}
			b := Batch{}
			var all []seen
			var raws []string
			for i, a := range tc.ats {
				raws = append(raws, fmt.Sprintf(`{"i":%d}`, i))
				b.Records = append(b.Records, schema.Record{Raw: []byte(raws[i])})
				all = append(all, seen{at: a})
			}
			got, kept, full := x.stopAt(b, all, tc.previous)
			if full != tc.full || len(got.Records) != len(tc.kept) || len(kept) != len(tc.kept) {
				t.Fatalf("kept %d records (%d seen), full %v; want %v, %v", len(got.Records), len(kept), full, tc.kept, tc.full)
			}
			for i, k := range tc.kept {
				if string(got.Records[i].Raw) != raws[k] || !kept[i].at.Equal(tc.ats[k]) {
					t.Errorf("record %d: %s at %s, want the page's record %d", i, got.Records[i].Raw, kept[i].at, k)
				}
			}
			if !x.maxSeen.Equal(tc.maxSeen) {
				t.Errorf("newest seen %s, want %s", x.maxSeen, tc.maxSeen)
			}
		})
	}
}

// TestSplitAt: the window split is the running one with the most records
// left at the rate it read them, cut after what it emitted and before its
// end; none is split with fewer than four pages left.
func TestSplitAt(t *testing.T) {
	lo := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	now := lo.Add(1000 * time.Hour)
	day := func(h int) time.Time { return lo.Add(time.Duration(h) * time.Hour) }
	wd := &windowing{origin: lo, lo: lo, hi: now}
	for _, tc := range []struct {
		name        string
		newestFirst bool
		wins        []*window
		want        int // -1: none
	}{
		{"the ended one is not split", false, []*window{{until: day(500), seen: day(100), pages: 1, records: 100, done: true}, {from: day(500), seen: day(600), pages: 2, records: 200}}, 1},
		{"most left wins", false, []*window{{until: day(500), seen: day(200), pages: 2, records: 200}, {from: day(500), seen: day(510), pages: 1, records: 100}}, 1},
		{"most left wins, older", false, []*window{{until: day(500), seen: day(20), pages: 2, records: 200}, {from: day(500), seen: day(600), pages: 2, records: 200}}, 0},
		{"three pages left", false, []*window{{until: day(500), seen: day(200), pages: 2, records: 200}}, -1},
		{"under four pages left", false, []*window{{until: day(500), seen: day(450), pages: 9, records: 900}}, -1},
		{"nothing read yet", false, []*window{{from: day(500), pages: 0}}, -1},
		// Newest first: a window has read from until down to reach.
		{"newest first: most left wins", true, []*window{{until: day(500), seen: day(499), reach: day(450), pages: 2, records: 200},
			{from: day(500), seen: day(999), reach: day(990), pages: 1, records: 100}}, 1},
		{"newest first: under four pages left", true, []*window{{from: day(500), seen: day(999), reach: day(510), pages: 9, records: 900}}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i, at, ok := splitAt(tc.wins, wd, now, tc.newestFirst)
			if tc.want < 0 {
				if ok {
					t.Fatalf("split window %d at %s, want none", i, at)
				}
				return
			}
			if !ok || i != tc.want {
				t.Fatalf("split %d (%v), want window %d", i, ok, tc.want)
			}
			w := tc.wins[i]
			lo, hi := w.seen, w.until // oldest first: between what it read and its end
			if hi.IsZero() {
				hi = now
			}
			if tc.newestFirst { // newest first: between its start and what it read
				lo, hi = w.from, w.reach
			}
			if !at.After(lo) || !at.Before(hi) {
				t.Errorf("split at %s, not within (%s, %s)", at, lo, hi)
			}
		})
	}
}

// TestPast: a page the split window read before it saw its stop keeps only
// what is before the split, ids with their records, and its newest value
// is counted over them; a page whose values are not told is left whole.
func TestPast(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	recs := []schema.Record{{Raw: []byte(`{"id":"a"}`)}, {Raw: []byte(`{"id":"b"}`)}, {Raw: []byte(`{"id":"c"}`)}, {Raw: []byte(`{"id":"d"}`)}}
	p := windowPage{batch: Batch{Records: recs, IDs: []string{"a", "b", "c", "d"}}, seen: at(4), ats: []time.Time{at(1), {}, at(3), at(4)}}
	got := past(p, at(3), false)
	if ids := got.batch.IDs; !slices.Equal(ids, []string{"a", "b"}) || len(got.batch.Records) != 2 ||
		string(got.batch.Records[1].Raw) != `{"id":"b"}` || !got.seen.Equal(at(1)) {
		t.Errorf("kept %v (%d records), newest %s; want a and b, newest %s", ids, len(got.batch.Records), got.seen, at(1))
	}
	if len(p.batch.Records) != 4 {
		t.Errorf("the page read was changed: %d records", len(p.batch.Records))
	}
	untold := windowPage{batch: Batch{Records: recs}, seen: at(4)}
	if got := past(untold, at(3), false); len(got.batch.Records) != 4 || !got.seen.Equal(at(4)) {
		t.Errorf("a page without values lost records: %d, newest %s", len(got.batch.Records), got.seen)
	}
	// Newest first, what is before the stop is the older window's.
	desc := windowPage{batch: Batch{Records: recs, IDs: []string{"a", "b", "c", "d"}}, seen: at(4), ats: []time.Time{at(4), at(3), {}, at(1)}}
	if got := past(desc, at(3), true); !slices.Equal(got.batch.IDs, []string{"a", "b", "c"}) || !got.seen.Equal(at(4)) ||
		len(got.ats) != 3 {
		t.Errorf("newest first: kept %v, newest %s, %d values; want a, b, c, newest %s", got.batch.IDs, got.seen, len(got.ats), at(4))
	}
}
