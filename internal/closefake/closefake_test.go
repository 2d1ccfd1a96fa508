package closefake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newTest(t *testing.T, opts Options) (*Server, func(method, path string, q url.Values) (int, http.Header, map[string]any)) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	get := func(method, path string, q url.Values) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+"/api/v1"+path+"?"+q.Encode(), nil)
		req.SetBasicAuth(DefaultAPIKey, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		return resp.StatusCode, resp.Header, body
	}
	return s, get
}

func TestDeterministic(t *testing.T) {
	a := New(Options{Seed: 3, Scale: 20, Now: func() time.Time { return fixedNow }})
	b := New(Options{Seed: 3, Scale: 20, Now: func() time.Time { return fixedNow }})
	ja, _ := json.Marshal(a.Objects(KindLead))
	jb, _ := json.Marshal(b.Objects(KindLead))
	if string(ja) != string(jb) {
		t.Error("same seed gave different leads")
	}
	if !strings.HasPrefix(a.IDs(KindLead)[0], "lead_") || len(a.IDs(KindLead)[0]) != len("lead_")+22 {
		t.Errorf("id %q is not prefix_ + 22 base62", a.IDs(KindLead)[0])
	}
}

func TestAuth(t *testing.T) {
	s := New(Options{Scale: 2})
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, auth := range []string{"", "Basic " + "d3Jvbmc6", "Bearer nope"} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/lead/", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, _ := http.DefaultClient.Do(req)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), "could not verify that you are authorized") {
			t.Errorf("auth %q: %d %s", auth, resp.StatusCode, b)
		}
	}
}

func TestPaginationLimitsAndSkipCap(t *testing.T) {
	s, get := newTest(t, Options{Seed: 1, Scale: 30, MaxSkip: map[string]int{"/contact/": 20}})
	seen := map[string]bool{}
	for skip := 0; ; skip += 10 {
		code, _, body := get("GET", "/lead/", url.Values{"_limit": {"10"}, "_skip": {fmt.Sprint(skip)}})
		if code != 200 {
			t.Fatalf("page at %d: %d %v", skip, code, body)
		}
		for _, d := range body["data"].([]any) {
			seen[d.(map[string]any)["id"].(string)] = true
		}
		if body["has_more"] != true {
			break
		}
	}
	if len(seen) != s.Count(KindLead) {
		t.Errorf("paged %d leads of %d", len(seen), s.Count(KindLead))
	}
	if code, _, body := get("GET", "/lead/", url.Values{"_limit": {"201"}}); code != 400 || !strings.Contains(fmt.Sprint(body["error"]), "max_limit = 200") {
		t.Errorf("over-limit: %d %v", code, body)
	}
	code, _, body := get("GET", "/contact/", url.Values{"_skip": {"21"}})
	if code != 400 || fmt.Sprint(body["error"]) != "The skip you set is larger than the maximum skip for this resource (max_skip = 20). Please refine your search query." {
		t.Errorf("max_skip: %d %v", code, body)
	}
	if code, _, body := get("GET", "/contact/", url.Values{"date_updated__gte": {"2024-01-01"}}); code != 400 {
		t.Errorf("/contact/ accepted a date filter it does not have: %d %v", code, body)
	}
}

func TestTasksDefaultToLeadType(t *testing.T) {
	s, get := newTest(t, Options{Seed: 2, Scale: 80})
	_, _, def := get("GET", "/task/", url.Values{"_limit": {"1000"}})
	_, _, all := get("GET", "/task/", url.Values{"_limit": {"1000"}, "_type": {"all"}})
	for _, d := range def["data"].([]any) {
		if d.(map[string]any)["_type"] != "lead" {
			t.Fatalf("default /task/ returned a %v task", d.(map[string]any)["_type"])
		}
	}
	if n := len(all["data"].([]any)); n != s.Count(KindTask) || n <= len(def["data"].([]any)) {
		t.Errorf("_type=all returned %d of %d (default %d)", n, s.Count(KindTask), len(def["data"].([]any)))
	}
}

func TestEventLogCursor(t *testing.T) {
	s, get := newTest(t, Options{Seed: 4, Scale: 120})
	if code, _, _ := get("GET", "/event/", url.Values{"_skip": {"10"}}); code != 400 {
		t.Errorf("_skip on /event/: %d", code)
	}
	var all []string
	last := "9999"
	q := url.Values{"_limit": {"50"}}
	for {
		code, _, body := get("GET", "/event/", q)
		if code != 200 {
			t.Fatal(code, body)
		}
		for _, d := range body["data"].([]any) {
			e := d.(map[string]any)
			if du := e["date_updated"].(string); du > last {
				t.Fatalf("events not newest first: %s after %s", du, last)
			} else {
				last = du
			}
			all = append(all, e["id"].(string))
		}
		next, _ := body["cursor_next"].(string)
		if next == "" {
			break
		}
		q.Set("_cursor", next)
	}
	if len(all) != s.Count(KindEvent) || len(all) == 0 {
		t.Errorf("walked %d events of %d", len(all), s.Count(KindEvent))
	}
}

func TestRateLimitAndInjectedFailures(t *testing.T) {
	s, get := newTest(t, Options{Seed: 1, Scale: 5, RateLimit: 3})
	var codes []int
	var hdr http.Header
	for i := 0; i < 5; i++ {
		code, h, _ := get("GET", "/user/", nil)
		codes = append(codes, code)
		if code == 429 {
			hdr = h
		}
	}
	if codes[0] != 200 || codes[4] != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(hdr.Get("RateLimit"), "remaining=0") {
		t.Errorf("codes %v, 429 headers %v", codes, hdr)
	}
	s.FailNext(1, 503)
	time.Sleep(1100 * time.Millisecond) // a fresh rate window
	if code, _, _ := get("GET", "/lead/", nil); code != 503 {
		t.Errorf("FailNext: %d", code)
	}
	if code, _, _ := get("GET", "/lead/", nil); code != 200 {
		t.Errorf("after FailNext: %d", code)
	}
}

func TestMutationsAndEvents(t *testing.T) {
	clock := fixedNow
	s, get := newTest(t, Options{Seed: 5, Scale: 10, Now: func() time.Time { return clock }})
	lead := s.IDs(KindLead)[0]
	clock = clock.Add(time.Hour)
	if err := s.Update(KindLead, lead, map[string]any{"name": "New Name"}); err != nil {
		t.Fatal(err)
	}
	o, _ := s.Object(KindLead, lead)
	if o["name"] != "New Name" || o["date_updated"] != fmtTime(clock) {
		t.Errorf("updated lead = %v %v", o["name"], o["date_updated"])
	}
	contacts := 0
	for _, c := range s.Objects(KindContact) {
		if c["lead_id"] == lead {
			contacts++
		}
	}
	if err := s.Delete(KindLead, lead); err != nil {
		t.Fatal(err)
	}
	_, _, body := get("GET", "/event/", url.Values{"action": {"deleted"}})
	var leadDeleted, contactDeleted int
	for _, d := range body["data"].([]any) {
		e := d.(map[string]any)
		switch e["object_type"] {
		case "lead":
			leadDeleted++
			if e["previous_data"] == nil || e["data"] != nil {
				t.Errorf("delete event data/previous_data: %v", e)
			}
		case "contact":
			contactDeleted++
		}
	}
	if leadDeleted != 1 || contactDeleted != contacts {
		t.Errorf("deleted events: %d lead, %d contacts (want %d)", leadDeleted, contactDeleted, contacts)
	}
	if _, ok := s.Object(KindLead, lead); ok {
		t.Error("lead still there")
	}
}

func TestLeadQuery(t *testing.T) {
	s, get := newTest(t, Options{Seed: 6, Scale: 40})
	cut := "2026-01-01T00:00"
	_, _, body := get("GET", "/lead/", url.Values{"query": {`date_updated >= "` + cut + `" sort:created`}, "_limit": {"200"}})
	want := 0
	for _, l := range s.Objects(KindLead) {
		if l["date_updated"].(string)[:16] >= cut {
			want++
		}
	}
	data := body["data"].([]any)
	if len(data) != want || int(body["total_results"].(float64)) != want {
		t.Errorf("query matched %d (total %v), want %d", len(data), body["total_results"], want)
	}
	for i := 1; i < len(data); i++ {
		if data[i-1].(map[string]any)["date_created"].(string) > data[i].(map[string]any)["date_created"].(string) {
			t.Fatal("sort:created not ascending")
		}
	}
	if code, _, _ := get("GET", "/lead/", url.Values{"query": {"name:foo"}}); code != 400 {
		t.Errorf("unsupported query accepted: %d", code)
	}
}
