package closefake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable Options.Now for tests.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// response is one HTTP exchange with the fake.
type response struct {
	code   int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) data() []map[string]any {
	var out []map[string]any
	for _, d := range r.body["data"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

func (r response) errorText() string {
	b, _ := json.Marshal(r.body)
	return string(b)
}

type client struct {
	t    *testing.T
	base string
	auth func(*http.Request)
}

// newTest starts the fake on loopback with a fixed clock unless opts has
// one.
func newTest(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, &client{t: t, base: srv.URL + apiPrefix, auth: func(r *http.Request) { r.SetBasicAuth(DefaultAPIKey, "") }}
}

func (c *client) do(method, path string, body any, hdr map[string]string) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c.auth(req)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

func (c *client) get(path string, q url.Values) response {
	c.t.Helper()
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.do(http.MethodGet, path, nil, nil)
}

// ok fails the test unless r is a 200.
func ok(t *testing.T, what string, r response) response {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("%s: %d %s", what, r.code, r.raw)
	}
	return r
}

// walk pages through an offset list and returns every object.
func (c *client) walk(path string, q url.Values, limit int) []map[string]any {
	c.t.Helper()
	var all []map[string]any
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	for skip := 0; ; skip += limit {
		q2.Set("_skip", itoa(skip))
		q2.Set("_limit", itoa(limit))
		r := ok(c.t, path, c.get(path, q2))
		all = append(all, r.data()...)
		if r.body["has_more"] != true {
			return all
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestSameSeedSameBytes(t *testing.T) {
	search := map[string]any{"query": map[string]any{"type": "and", "queries": []any{map[string]any{"type": "object_type", "object_type": "contact"}}},
		"_limit": 50, "_fields": map[string]any{"contact": []any{"name", "emails", "date_updated"}}}
	responses := func(seed int64) []string {
		_, c := newTest(t, Options{Seed: seed, Scale: 60})
		var out []string
		for _, p := range []string{"/lead/?_limit=200", "/activity/?_limit=100", "/event/?_limit=50", "/opportunity/?_limit=250",
			"/task/?_type=all&_limit=1000", "/custom_field/lead/", "/me/", "/saved_search/?type__in=lead,contact"} {
			out = append(out, string(ok(t, p, c.do(http.MethodGet, p, nil, nil)).raw))
		}
		return append(out, string(ok(t, "search", c.do(http.MethodPost, "/data/search/", search, nil)).raw))
	}
	a, b, other := responses(3), responses(3), responses(4)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("response %d differs between two fakes with seed 3", i)
		}
		if a[i] == other[i] && i != 7 {
			t.Errorf("response %d is the same for seeds 3 and 4", i)
		}
	}
}

func TestDataLooksLikeClose(t *testing.T) {
	s := New(Options{Seed: 1, Scale: 200, Now: func() time.Time { return fixedNow }})
	idRE := regexp.MustCompile(`^[a-z]+_[0-9A-Za-z]{22}$`)
	tsRE := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}000)?\+00:00$`)
	fractionless := 0
	for _, kind := range []string{KindLead, KindContact, KindOpportunity, KindTask, KindActivity, KindUser, KindCustomField} {
		for _, o := range s.Objects(kind) {
			if !idRE.MatchString(o["id"].(string)) {
				t.Fatalf("%s id %q", kind, o["id"])
			}
			for _, f := range []string{"date_created", "date_updated"} {
				v, _ := o[f].(string)
				if !tsRE.MatchString(v) {
					t.Fatalf("%s %s %q", kind, f, v)
				}
				if !strings.Contains(v, ".") {
					fractionless++
				}
				if v < fmtTime(fixedNow.Add(-dataSpan-200*24*time.Hour)) || v > fmtTime(fixedNow) {
					t.Fatalf("%s %s %s outside the generated range", kind, f, v)
				}
			}
		}
	}
	if fractionless == 0 {
		t.Error("no fractionless timestamps")
	}
	// Leads: children embedded from their own collections, custom fields
	// flat and only when set, the deprecated custom dict empty.
	leads := s.Objects(KindLead)
	contacts := map[string]int{}
	for _, c := range s.Objects(KindContact) {
		contacts[c["lead_id"].(string)]++
	}
	withCustom, withoutSome := 0, 0
	sharedUpdated := map[string]int{}
	for _, l := range leads {
		if n := len(l["contacts"].([]any)); n != contacts[l["id"].(string)] || n < 1 || n > 3 {
			t.Fatalf("lead %s embeds %d contacts, the collection has %d", l["id"], n, contacts[l["id"].(string)])
		}
		if len(l["opportunities"].([]any)) > 2 || len(l["tasks"].([]any)) > 2 {
			t.Fatalf("lead %s has too many children", l["id"])
		}
		if c, ok := l["custom"].(map[string]any); !ok || len(c) != 0 {
			t.Fatalf("lead custom = %v", l["custom"])
		}
		n := 0
		for k, v := range l {
			if strings.HasPrefix(k, "custom.cf_") {
				n++
				if v == nil {
					t.Fatalf("lead %s sends an unset custom field %s", l["id"], k)
				}
			}
		}
		if n > 0 {
			withCustom++
		}
		if n < 9 {
			withoutSome++
		}
		sharedUpdated[l["date_updated"].(string)]++
	}
	if withCustom == 0 || withoutSome == 0 {
		t.Errorf("custom fields: %d leads with some, %d without some", withCustom, withoutSome)
	}
	ties := 0
	for _, n := range sharedUpdated {
		if n > 1 {
			ties++
		}
	}
	if ties == 0 {
		t.Error("no leads share a date_updated")
	}
	// Every activity type, emails in threads, tasks of several types.
	types, threads := map[string]int{}, map[string]bool{}
	for _, a := range s.Objects(KindActivity) {
		types[a["_type"].(string)]++
		if a["_type"] == "EmailThread" {
			threads[a["id"].(string)] = true
		}
	}
	for _, at := range activityTypes {
		if types[at.typ] == 0 {
			t.Errorf("no %s activities", at.typ)
		}
	}
	for _, a := range s.Objects(KindActivity) {
		if a["_type"] == "Email" && !threads[a["thread_id"].(string)] {
			t.Errorf("email %s points at thread %v, which is not an EmailThread", a["id"], a["thread_id"])
		}
	}
	taskTypes := map[string]bool{}
	for _, tk := range s.Objects(KindTask) {
		taskTypes[tk["_type"].(string)] = true
		if tk["is_dateless"] == true && len(tk["date"].(string)) != 10 {
			t.Errorf("dateless task %s has date %v", tk["id"], tk["date"])
		}
	}
	if len(taskTypes) < 4 {
		t.Errorf("task types %v", taskTypes)
	}
	for _, f := range s.Objects(KindCustomField) {
		if f["object_type"] == nil {
			t.Errorf("custom field %s has no object_type in the truth copy", f["id"])
		}
	}
}

// BenchmarkNew measures building an organisation (it replaces a test
// that failed on a loaded machine when scale 100 took over 50 ms): go test
// -run '^$' -bench New ./internal/closefake/. Scale 100 takes a few
// milliseconds, scale 20000 a couple of seconds.
func BenchmarkNew(b *testing.B) {
	for _, scale := range []int{100, 20000} {
		b.Run(itoa(scale), func(b *testing.B) {
			for range b.N {
				New(Options{Seed: 1, Scale: scale})
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	_, c := newTest(t, Options{Seed: 1, Scale: 3})
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	header := func(v string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Authorization", v) } }
	for _, tt := range []struct {
		name string
		auth func(*http.Request)
		want int
	}{
		{"basic key", basic(DefaultAPIKey, ""), 200},
		// Close takes an API key as Basic only (close-api.md §1): Bearer
		// is for OAuth access tokens, and a key in the query is no auth.
		{"bearer key", header("Bearer " + DefaultAPIKey), 401},
		{"key in the query", func(r *http.Request) { r.URL.RawQuery = "api_key=" + DefaultAPIKey }, 401},
		{"key in the query as _api_key", func(r *http.Request) { r.URL.RawQuery = "_api_key=" + DefaultAPIKey }, 401},
		{"key as the Basic password", basic("", DefaultAPIKey), 401},
		{"none", func(*http.Request) {}, 401},
		{"wrong key", basic("api_wrong", ""), 401},
		{"key with a password", basic(DefaultAPIKey, "x"), 401},
		{"wrong bearer", header("Bearer api_wrong"), 401},
		{"garbage", header("Basic !!!"), 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c.auth = tt.auth
			r := c.get("/me/", nil)
			if r.code != tt.want {
				t.Fatalf("status %d, want %d", r.code, tt.want)
			}
			if tt.want == 401 && (string(r.raw) != `{"error":"`+msgUnauthorized+`"}` || r.header.Get("Content-Type") != "application/json") {
				t.Errorf("401 body %s (%s)", r.raw, r.header.Get("Content-Type"))
			}
		})
	}
}

func TestRouting(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 10})
	lead := s.IDs(KindLead)[0]
	var call, note string
	for _, a := range s.Objects(KindActivity) {
		switch a["_type"] {
		case "Call":
			call = a["id"].(string)
		case "Note":
			note = a["id"].(string)
		}
	}
	for _, tt := range []struct {
		name, method, path string
		want               int
		body               string // substring
	}{
		{"no trailing slash redirects", "GET", "/lead", 301, ""},
		{"no trailing slash on an id", "GET", "/lead/" + lead, 301, ""},
		{"POST redirect keeps the method", "POST", "/data/search", 308, ""},
		{"unknown path", "GET", "/nope/", 404, "was not found on the server"},
		{"unknown path without slash", "GET", "/nope", 404, "was not found on the server"},
		{"outside the API", "GET", "/../x/", 404, ""},
		{"unknown lead", "GET", "/lead/lead_nope/", 404, `"Empty query: Lead matching query does not exist."`},
		{"unknown contact", "GET", "/contact/cont_nope/", 404, "Empty query: Contact matching query"},
		{"unknown opportunity", "GET", "/opportunity/oppo_nope/", 404, "Empty query: Opportunity matching query"},
		{"unknown task", "GET", "/task/task_nope/", 404, "Empty query: Task matching query"},
		{"unknown event", "GET", "/event/ev_nope/", 404, "Empty query: Event matching query"},
		{"activity of another type", "GET", "/activity/call/" + note + "/", 404, "Empty query: Call matching query"},
		{"activity of its type", "GET", "/activity/call/" + call + "/", 200, call},
		{"lead by id", "GET", "/lead/" + lead + "/", 200, `"contacts":[`},
		{"organization", "GET", "/organization/" + s.OrganizationID() + "/", 200, `"memberships":[`},
		{"other organization", "GET", "/organization/orga_nope/", 404, "Organization matching query"},
		{"method not allowed", "DELETE", "/lead/", 405, "not allowed"},
		{"GET search", "GET", "/data/search/", 405, "not allowed"},
		{"legacy custom field path", "GET", "/custom_fields/lead/", 200, `"data":[`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := c.do(tt.method, tt.path, nil, nil)
			if r.code != tt.want || !strings.Contains(string(r.raw), tt.body) {
				t.Fatalf("%s %s: %d %s", tt.method, tt.path, r.code, r.raw)
			}
			if tt.want >= 301 && tt.want <= 308 && !strings.HasSuffix(strings.SplitN(r.header.Get("Location"), "?", 2)[0], tt.path+"/") {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
			if ct := r.header.Get("Content-Type"); tt.want != 301 && tt.want != 308 && ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestMe(t *testing.T) {
	s, c := newTest(t, Options{Seed: 2, Scale: 10})
	me := ok(t, "/me/", c.get("/me/", nil)).body
	orgs := me["organizations"].([]any)
	if len(orgs) != 1 || orgs[0].(map[string]any)["id"] != s.OrganizationID() || !strings.HasPrefix(s.OrganizationID(), "orga_") {
		t.Errorf("organizations %v", orgs)
	}
	if me["id"] != s.IDs(KindUser)[0] || me["email"] == "" || len(me["memberships"].([]any)) != 1 || me["email_accounts"] == nil {
		t.Errorf("/me/ = %v", me)
	}
}

func TestMethodOverride(t *testing.T) {
	s, c := newTest(t, Options{Seed: 2, Scale: 20})
	lead := s.IDs(KindLead)[3]
	r := ok(t, "override", c.do(http.MethodPost, "/contact/", map[string]any{"_params": map[string]any{"lead_id": lead, "_limit": 5}},
		map[string]string{"X-HTTP-Method-Override": "GET"}))
	for _, ct := range r.data() {
		if ct["lead_id"] != lead {
			t.Errorf("contact %v of lead %v", ct["id"], ct["lead_id"])
		}
	}
	if len(r.data()) == 0 {
		t.Error("no contacts")
	}
}

// TestConcurrentReadsAndWrites mutates the organisation while requests
// read it: under -race it finds unguarded state, and every call must
// succeed and every write be seen afterwards.
func TestConcurrentReadsAndWrites(t *testing.T) {
	s, c := newTest(t, Options{Seed: 3, Scale: 40})
	leads := s.IDs(KindLead)
	touched, owner := leads[:20], leads[30]
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, id := range touched {
			if err := s.Update(KindLead, id, map[string]any{"name": "Renamed " + itoa(i)}); err != nil {
				t.Errorf("update %s: %v", id, err)
			}
			if i%5 == 0 {
				if err := s.Delete(KindLead, id); err != nil {
					t.Errorf("delete %s: %v", id, err)
				}
			}
			if _, err := s.Create(KindContact, map[string]any{"lead_id": owner, "name": "New"}); err != nil {
				t.Errorf("create a contact: %v", err)
			}
		}
	}()
	for range 20 {
		ok(t, "list leads", c.get("/lead/", url.Values{"_limit": {"50"}}))
		ok(t, "list events", c.get("/event/", nil))
		s.Objects(KindContact)
	}
	<-done
	names := map[string]any{}
	for _, l := range s.Objects(KindLead) {
		names[l["id"].(string)] = l["name"]
	}
	for i, id := range touched {
		name, live := names[id]
		switch {
		case i%5 == 0 && live:
			t.Errorf("deleted lead %s is still there", id)
		case i%5 != 0 && name != "Renamed "+itoa(i):
			t.Errorf("lead %s is named %v, want %q", id, name, "Renamed "+itoa(i))
		}
	}
	created := 0
	for _, ct := range s.Objects(KindContact) {
		if ct["lead_id"] == owner && ct["name"] == "New" {
			created++
		}
	}
	if created != len(touched) {
		t.Errorf("%d new contacts of %s, want %d", created, owner, len(touched))
	}
}

// TestEveryActivityTypeAtAnyHour: a small organisation has an activity of
// every type whatever the clock says when it is generated (the tests that
// compare each table with its fake need rows in each; a completed task,
// which a TaskCompleted activity points at, depends on due dates and now).
func TestEveryActivityTypeAtAnyHour(t *testing.T) {
	for _, c := range []struct{ seed, scale int }{{61, 30}, {1, 20}, {7, 30}} {
		for h := range 24 {
			now := fixedNow.Add(time.Duration(h)*time.Hour + time.Duration(h*7)*24*time.Hour)
			s := New(Options{Seed: int64(c.seed), Scale: c.scale, Now: func() time.Time { return now }})
			seen := map[string]bool{}
			for _, a := range s.Objects(KindActivity) {
				seen[a["_type"].(string)] = true
			}
			for _, w := range activityWeights {
				if !seen[w.typ] {
					t.Errorf("seed %d, scale %d, now %s: no %s activity", c.seed, c.scale, now.Format(time.RFC3339), w.typ)
				}
			}
		}
	}
}
