package extract

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// searchClient is a small Advanced Filtering server: a walk snapshots the
// objects with date_updated on or after the query's bound, sorted by it
// (ties by id), renders each page from the objects' current values, ends
// after walkCap objects with a null cursor, and lets its cursor expire
// after expireAfter pages.
type searchClient struct {
	objs        map[string]map[string]any
	walkCap     int
	expireAfter int    // pages; 0: never
	types       string // the /custom_object_type/ listing
	// beforePage runs before each page is served (walk and page 1-based),
	// to change objects during a walk.
	beforePage func(walk, page int)

	bodies []map[string]any
	reads  map[string]int // id -> times returned
}

func newSearchClient(objs ...map[string]any) *searchClient {
	c := &searchClient{objs: map[string]map[string]any{}, walkCap: 10000, reads: map[string]int{},
		types: `[{"id":"cotype_1","fields":[{"id":"cf_plan"},{"id":"cf_seats"}]}]`}
	for _, o := range objs {
		c.objs[o["id"].(string)] = o
	}
	return c
}

func (c *searchClient) Search(ctx context.Context, body map[string]any, fn func(closeapi.Page) error) error {
	c.bodies = append(c.bodies, body)
	walk := len(c.bodies)
	var from string
	for _, q := range body["query"].(map[string]any)["queries"].([]any) {
		if cond, ok := q.(map[string]any)["condition"].(map[string]any); ok {
			from = cond["on_or_after"].(map[string]any)["value"].(string)
		}
	}
	fromT, _ := parseTime(from)
	var ids []string
	for id, o := range c.objs {
		if t, _ := parseTime(o["date_updated"].(string)); from == "" || !t.Before(fromT) {
			ids = append(ids, id)
		}
	}
	key := func(id string) time.Time { t, _ := parseTime(c.objs[id]["date_updated"].(string)); return t }
	slices.SortFunc(ids, func(a, b string) int {
		return cmp.Or(key(a).Compare(key(b)), strings.Compare(a, b))
	})
	ids = ids[:min(len(ids), c.walkCap)]
	limit := body["_limit"].(int)
	var fields []string
	for _, f := range body["_fields"].(map[string]any)["custom_object"].([]any) {
		fields = append(fields, f.(string))
	}
	for page, off := 1, 0; off < len(ids); page, off = page+1, off+limit {
		if c.expireAfter > 0 && page > c.expireAfter {
			return fmt.Errorf("search page %d: %w", page, closeapi.ErrCursorExpired)
		}
		if c.beforePage != nil {
			c.beforePage(walk, page)
		}
		var data []json.RawMessage
		for _, id := range ids[off:min(off+limit, len(ids))] {
			row := map[string]any{}
			for _, f := range fields {
				if v, ok := c.objs[id][f]; ok {
					row[f] = v
				}
			}
			b, _ := json.Marshal(row)
			data = append(data, b)
			c.reads[id]++
		}
		if err := fn(closeapi.Page{Data: data, HasMore: off+limit < len(ids), Number: page}); err != nil {
			return err
		}
	}
	return nil
}

func (c *searchClient) ListOffset(ctx context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	if path != "/custom_object_type/" {
		return fmt.Errorf("unexpected list %s", path)
	}
	var data []json.RawMessage
	if err := json.Unmarshal([]byte(c.types), &data); err != nil {
		return err
	}
	return fn(closeapi.Page{Data: data, Number: 1})
}

func (c *searchClient) Get(context.Context, string, url.Values, any) error {
	return fmt.Errorf("unexpected get")
}

func (c *searchClient) Post(context.Context, string, any, any) error {
	return fmt.Errorf("unexpected post")
}

func (c *searchClient) ListCursor(context.Context, string, url.Values, int, func(closeapi.Page) error) error {
	return fmt.Errorf("unexpected cursor list")
}

// customObject is an instance updated at t (time of day on 2026-11-20).
func customObject(i int, updated time.Time) map[string]any {
	return map[string]any{"id": fmt.Sprintf("custobj_%06d", i), "custom_object_type_id": "cotype_1", "lead_id": "lead_1",
		"name": fmt.Sprint("Sub ", i), "date_created": "2026-01-01T00:00:00+00:00",
		"date_updated": updated.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00", "custom.cf_plan": "Growth", "custom.cf_other": 1}
}

// customObjectsAt makes n objects, three to a date_updated (ties), a
// second apart from base.
func customObjectsAt(n int, base time.Time) []map[string]any {
	var out []map[string]any
	for i := range n {
		out = append(out, customObject(i, base.Add(time.Duration(i/3)*time.Second)))
	}
	return out
}

func extractCustomObjects(t *testing.T, c Client, req Request) ([]Batch, error) {
	t.Helper()
	req.Report, _ = Lookup("custom_objects")
	if req.Now.IsZero() {
		req.Now = now
	}
	var batches []Batch
	err := Extract(context.Background(), c, req, func(b Batch) error { batches = append(batches, b); return nil })
	return batches, err
}

// onOrAfter is a walk's lower bound ("" when it reads everything).
func onOrAfter(body map[string]any) string {
	for _, q := range body["query"].(map[string]any)["queries"].([]any) {
		if cond, ok := q.(map[string]any)["condition"].(map[string]any); ok {
			return cond["on_or_after"].(map[string]any)["value"].(string)
		}
	}
	return ""
}

func TestSearchWalkPagesAndBookmarks(t *testing.T) {
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	c := newSearchClient(customObjectsAt(450, base)...)
	batches, err := extractCustomObjects(t, c, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bodies) != 1 {
		t.Fatalf("%d walks for 450 objects, want 1", len(c.bodies))
	}
	body := c.bodies[0]
	if onOrAfter(body) != "" || body["_limit"] != 200 {
		t.Errorf("first walk: bound %q, _limit %v", onOrAfter(body), body["_limit"])
	}
	sort, _ := json.Marshal(body["sort"])
	if string(sort) != `[{"direction":"asc","field":{"field_name":"date_updated","object_type":"custom_object","type":"regular_field"}}]` {
		t.Errorf("sort = %s", sort)
	}
	fields, _ := json.Marshal(body["_fields"])
	if string(fields) != `{"custom_object":["id","custom_object_type_id","lead_id","name","organization_id","created_by","updated_by",`+
		`"date_created","date_updated","custom.cf_plan","custom.cf_seats"]}` {
		t.Errorf("_fields = %s", fields)
	}
	records, prev := 0, ""
	for i, b := range batches {
		records += len(b.Records)
		if b.Bookmark.String() != "" {
			if b.Bookmark.String() < prev {
				t.Errorf("batch %d bookmark %s moved back from %s", i, b.Bookmark.String(), prev)
			}
			prev = b.Bookmark.String()
		}
	}
	if records != 450 || len(batches) != 3 {
		t.Errorf("%d records in %d batches, want 450 in 3", records, len(batches))
	}
	// Every page moves the bookmark to its last (settled) date_updated.
	if got, want := batches[0].Bookmark.String(), base.Add(66*time.Second).Format(time.RFC3339Nano); got != want {
		t.Errorf("first page's bookmark = %s, want %s", got, want)
	}
	if got, want := prev, base.Add(149*time.Second).Format(time.RFC3339Nano); got != want {
		t.Errorf("last bookmark = %s, want the newest date_updated %s", got, want)
	}
	// Only the fields asked for come back, custom ones into custom.
	if got := string(batches[0].Records[0].Custom); got != `{"cf_plan":"Growth"}` {
		t.Errorf("custom = %s", got)
	}
}

func TestSearchWalkIncremental(t *testing.T) {
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	c := newSearchClient(customObjectsAt(30, base)...)
	batches, err := extractCustomObjects(t, c, Request{Bookmark: mark("2026-11-20T08:00:05Z")})
	if err != nil {
		t.Fatal(err)
	}
	// The bookmark less the 2-minute overlap.
	if got := onOrAfter(c.bodies[0]); got != "2026-11-20T07:58:05.000000+00:00" {
		t.Errorf("bound = %s", got)
	}
	for _, b := range batches {
		if b.Bookmark.String() != "" && b.Bookmark.String() <= "2026-11-20T08:00:05Z" {
			t.Errorf("bookmark %s does not move forward", b.Bookmark.String())
		}
	}
	if last := batches[len(batches)-1].Bookmark.String(); last != "2026-11-20T08:00:09Z" {
		t.Errorf("bookmark = %s", last)
	}
	// A start date bounds the first run.
	c = newSearchClient(customObjectsAt(3, base)...)
	if _, err := extractCustomObjects(t, c, Request{StartDate: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := onOrAfter(c.bodies[0]); got != "2026-11-20T09:00:00.000000+00:00" {
		t.Errorf("bound from start_date = %s", got)
	}
}

// checkReads says every object was read, and twice at most those sharing a
// restart's bound.
func checkReads(t *testing.T, c *searchClient, records int) {
	t.Helper()
	twice := 0
	for id := range c.objs {
		switch n := c.reads[id]; {
		case n == 0:
			t.Fatalf("%s was never read", id)
		case n > 2:
			t.Errorf("%s read %d times", id, n)
		case n == 2:
			twice++
		}
	}
	if restarts := len(c.bodies) - 1; twice > 3*restarts {
		t.Errorf("%d objects read twice over %d restarts: more than the boundary ties", twice, restarts)
	}
	if sum := len(c.objs) + twice; records != sum {
		t.Errorf("%d records emitted, want %d", records, sum)
	}
}

func count(batches []Batch) int {
	n := 0
	for _, b := range batches {
		n += len(b.Records)
	}
	return n
}

func TestSearchWalkRestartsAtCap(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := newSearchClient(customObjectsAt(12345, base)...)
	batches, err := extractCustomObjects(t, c, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bodies) != 2 {
		t.Fatalf("%d walks, want 2 (the first stops at the 10,000 cap)", len(c.bodies))
	}
	// The second walk starts at the last date_updated of the first: object
	// 9999, the first of its tie of three.
	if got, want := onOrAfter(c.bodies[1]), base.Add(3333*time.Second).Format("2006-01-02T15:04:05.000000")+"+00:00"; got != want {
		t.Errorf("restart bound = %s, want %s", got, want)
	}
	checkReads(t, c, count(batches))
}

func TestSearchWalkRestartsOnCursorExpiry(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := newSearchClient(customObjectsAt(1000, base)...)
	c.expireAfter = 2 // a slow consumer: every cursor expires after two pages
	batches, err := extractCustomObjects(t, c, Request{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.bodies) < 3 {
		t.Fatalf("%d walks", len(c.bodies))
	}
	checkReads(t, c, count(batches))
	for i := 1; i < len(c.bodies); i++ {
		if a, b := onOrAfter(c.bodies[i-1]), onOrAfter(c.bodies[i]); b <= a {
			t.Errorf("walk %d starts at %s, not after walk %d's %s", i+1, b, i, a)
		}
	}
}

func TestSearchWalkIgnoresValuesChangedDuringTheRun(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := newSearchClient(customObjectsAt(600, base)...)
	c.expireAfter = 1
	// While the first page is served, its last object is updated: it shows
	// a date_updated after the run's start. Restarting from that value would
	// skip every object after it.
	c.beforePage = func(walk, page int) {
		if walk == 1 {
			o := c.objs["custobj_000199"]
			o["date_updated"] = now.Add(10*time.Second).Format("2006-01-02T15:04:05.000000") + "+00:00"
		}
	}
	batches, err := extractCustomObjects(t, c, Request{})
	if err != nil {
		t.Fatal(err)
	}
	checkReads(t, c, count(batches))
	if got, want := onOrAfter(c.bodies[1]), base.Add(66*time.Second).Format("2006-01-02T15:04:05.000000")+"+00:00"; got != want {
		t.Errorf("restart bound = %s, want the last settled value %s", got, want)
	}
	for _, b := range batches[:len(batches)-1] {
		if b.Bookmark.String() > now.Format(time.RFC3339Nano) {
			t.Errorf("batch bookmark %s is past the run's start", b.Bookmark.String())
		}
	}
	if last := batches[len(batches)-1].Bookmark.String(); last != now.Format(time.RFC3339Nano) {
		t.Errorf("final bookmark = %s, want the run's start", last)
	}
}

func TestSearchWalkStuck(t *testing.T) {
	// 500 objects share one date_updated and every cursor expires after a
	// page: the walk cannot get past them.
	var objs []map[string]any
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		objs = append(objs, customObject(i, at))
	}
	c := newSearchClient(objs...)
	c.expireAfter = 1
	_, err := extractCustomObjects(t, c, Request{})
	if err == nil || !strings.Contains(err.Error(), "expired cursor") || !strings.Contains(err.Error(), "without getting past date_updated 2026-11-01T00:00:00Z") {
		t.Fatalf("err = %v", err)
	}
	if len(c.bodies) != 1+searchMaxStalls {
		t.Errorf("%d walks", len(c.bodies))
	}
}

func TestSearchWalkWithoutTypes(t *testing.T) {
	c := newSearchClient(customObjectsAt(3, now.Add(-time.Hour))...)
	c.types = `[]`
	batches, err := extractCustomObjects(t, c, Request{})
	if err != nil || len(batches) != 0 || len(c.bodies) != 0 {
		t.Errorf("err %v, %d batches, %d searches", err, len(batches), len(c.bodies))
	}
}

// TestSplitFieldsBoundsEverySearch: the walk keeps every regular field,
// no list passes searchMaxFields, and together they name every field once.
func TestSplitFieldsBoundsEverySearch(t *testing.T) {
	regularFields := []string{"id", "lead_id", "name", "date_updated"}
	for _, custom := range []int{0, 1, 46, 47, 95, 96, 300} {
		fields := append([]string(nil), regularFields...)
		for i := range custom {
			fields = append(fields, fmt.Sprintf("custom.cf_%03d", i))
		}
		walk, rest, err := splitFields(fields)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, l := range append([][]string{walk}, rest...) {
			if len(l) > searchMaxFields {
				t.Errorf("%d custom: a list of %d fields", custom, len(l))
			}
			for _, f := range l {
				seen[f]++
			}
		}
		for _, f := range fields {
			if want := map[bool]int{true: 1 + len(rest), false: 1}[f == "id"]; seen[f] != want {
				t.Errorf("%d custom: %s asked %d times, want %d", custom, f, seen[f], want)
			}
		}
		if !slices.Equal(walk[:len(regularFields)], regularFields) {
			t.Errorf("%d custom: the walk's fields %v", custom, walk)
		}
		if wantLists := 1 + (max(0, custom-(searchMaxFields-len(regularFields)))+searchMaxFields-2)/(searchMaxFields-1); len(rest)+1 != wantLists {
			t.Errorf("%d custom: %d searches per page, want %d", custom, len(rest)+1, wantLists)
		}
	}
}

func TestWithKeysKeepsTheRecordsBytes(t *testing.T) {
	got := string(withKeys(json.RawMessage(`{"id": "cont_1", "custom.cf_a": 1}`), map[string]json.RawMessage{"custom.cf_c": []byte(`"x"`), "custom.cf_b": []byte(`[1]`)}))
	if want := `{"id": "cont_1", "custom.cf_a": 1,"custom.cf_b":[1],"custom.cf_c":"x"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := string(withKeys(json.RawMessage(`{ }`), map[string]json.RawMessage{"k": []byte(`1`)})); got != `{"k":1}` {
		t.Errorf("empty object: %s", got)
	}
}
