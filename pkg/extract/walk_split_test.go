package extract

import (
	"context"
	"encoding/json"
	"errors"
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
// from above (<field>__lt).
type windowLog struct {
	next    http.Handler
	mu      sync.Mutex
	bounded int
}

func (l *windowLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k := range r.URL.Query() {
		if strings.HasSuffix(k, "__lt") {
			l.mu.Lock()
			l.bounded++
			l.mu.Unlock()
			break
		}
	}
	l.next.ServeHTTP(w, r)
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

// TestWindowedWalksReadWhatOneListingReads: the event log and activities,
// walked in windows four at once, read the same records as one listing
// and end at the same bookmark; every bookmark a batch carries is below
// every record emitted after it (so a run stopped after any commit misses
// nothing); an incremental run stays one listing, even from an old
// bookmark.
func TestWindowedWalksReadWhatOneListingReads(t *testing.T) {
	now := time.Now().UTC()
	fake := closefake.New(closefake.Options{Seed: 3, Scale: 300, Now: func() time.Time { return now }})
	log := &windowLog{next: fake}
	srv := httptest.NewServer(log)
	defer srv.Close()
	c, err := closeapi.New(closeapi.Config{Account: "t", BaseURL: srv.URL + "/api/v1", APIKey: closefake.DefaultAPIKey})
	if err != nil {
		t.Fatal(err)
	}
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
				log.bounded = 0
				one := walkOnce(t, c, req)
				if log.bounded != 0 {
					t.Fatalf("one listing sent %d bounded requests", log.bounded)
				}
				req.Concurrency = 4
				four := walkOnce(t, c, req)
				if split := log.bounded > 0; split != tc.split {
					t.Fatalf("split into windows: %v (%d bounded requests), want %v", split, log.bounded, tc.split)
				}
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
					if bm.IsZero() || same(bm, tc.bookmark) {
						continue
					}
					for i, at := range four.at {
						if four.batchOf[i] > j && at.Before(bm.Time()) {
							t.Fatalf("batch %d commits bookmark %s, but batch %d then brings a record at %s", j, bm, four.batchOf[i], at)
						}
					}
				}
			})
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
	const total = 400000
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
