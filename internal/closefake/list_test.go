package closefake

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPaginationEnvelope(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 45})
	for _, tt := range []struct {
		path  string
		q     url.Values
		kind  string
		limit int
	}{
		{"/lead/", nil, KindLead, 7},
		{"/contact/", nil, KindContact, 13},
		{"/opportunity/", nil, KindOpportunity, 5},
		{"/task/", url.Values{"_type": {"all"}}, KindTask, 9},
		{"/activity/", nil, KindActivity, 17},
		{"/user/", nil, KindUser, 2},
		{"/sequence/", nil, "sequence", 1},
	} {
		t.Run(tt.path, func(t *testing.T) {
			all := c.walk(tt.path, tt.q, tt.limit)
			seen := map[string]bool{}
			for _, o := range all {
				seen[o["id"].(string)] = true
			}
			if len(all) != s.Count(tt.kind) || len(seen) != len(all) {
				t.Errorf("walked %d objects (%d distinct), the fake has %d", len(all), len(seen), s.Count(tt.kind))
			}
			// has_more is false exactly on the last page; past the end is an empty page.
			q := url.Values{"_skip": {itoa(len(all))}, "_limit": {itoa(tt.limit)}}
			for k, v := range tt.q {
				q[k] = v
			}
			r := ok(t, "past the end", c.get(tt.path, q))
			if len(r.data()) != 0 || r.body["has_more"] != false {
				t.Errorf("past the end: %s", r.raw)
			}
		})
	}
}

func TestLimitsAndSkipCaps(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 30, MaxSkip: map[string]int{"*": 1000, "/contact/": 20, "/activity/": 30, "/activity/call/": 40}})
	for _, tt := range []struct {
		path, skip, limit string
		want              int
		msg               string
	}{
		{"/lead/", "", "200", 200, ""},
		{"/lead/", "", "201", 400, "The limit you set is larger than the maximum limit for this resource (max_limit = 200)."},
		{"/contact/", "", "101", 400, "(max_limit = 100)"},
		{"/opportunity/", "", "251", 400, "(max_limit = 250)"},
		{"/task/", "", "1001", 400, "(max_limit = 1000)"},
		{"/activity/", "", "101", 400, "(max_limit = 100)"},
		{"/activity/note/", "", "101", 400, "(max_limit = 100)"},
		{"/user/", "", "1001", 400, "(max_limit = 1000)"},
		{"/custom_field/contact/", "", "1001", 400, "(max_limit = 1000)"},
		{"/lead/", "", "x", 400, `_limit must be an integer (got "x" instead).`},
		{"/lead/", "-1", "", 400, `_skip must be a non-negative integer (got "-1" instead).`},
		{"/lead/", "0", "0", 400, "_limit=0 is a count probe"}, // no query: no total_results (TestLimitZeroCountsOnly)
		{"/lead/", "0", "1", 200, ""},
		{"/lead/", "1000", "", 200, ""},
		{"/lead/", "1001", "", 400, "The skip you set is larger than the maximum skip for this resource (max_skip = 1000). Please refine your search query."},
		{"/contact/", "20", "", 200, ""},
		{"/contact/", "21", "", 400, "(max_skip = 20)"},
		{"/activity/email/", "31", "", 400, "(max_skip = 30)"},
		{"/activity/call/", "31", "", 200, ""},
		{"/activity/call/", "41", "", 400, "(max_skip = 40)"},
	} {
		t.Run(tt.path+"?_skip="+tt.skip+"&_limit="+tt.limit, func(t *testing.T) {
			q := url.Values{}
			if tt.skip != "" {
				q.Set("_skip", tt.skip)
			}
			if tt.limit != "" {
				q.Set("_limit", tt.limit)
			}
			r := c.get(tt.path, q)
			if r.code != tt.want {
				t.Fatalf("%d %s", r.code, r.raw)
			}
			if tt.msg != "" && !strings.Contains(fmt.Sprint(r.body["error"]), tt.msg) {
				t.Errorf("error %q, want %q", r.body["error"], tt.msg)
			}
		})
	}
	// The max_skip refusals are counted per path.
	if got, want := fmt.Sprint(s.MaxSkipRefusals()), "map[/activity/call/:1 /activity/email/:1 /contact/:1 /lead/:1]"; got != want {
		t.Errorf("MaxSkipRefusals() = %s, want %s", got, want)
	}
	// "*" overrides the strict per-resource defaults as well.
	_, c = newTest(t, Options{Seed: 1, Scale: 3, MaxSkip: map[string]int{"*": 250000}})
	if r := c.get("/activity/email/", url.Values{"_skip": {"250100"}}); r.code != 400 ||
		r.body["error"] != "The skip you set is larger than the maximum skip for this resource (max_skip = 250000). Please refine your search query." {
		t.Errorf("max_skip 250000: %d %s", r.code, r.raw)
	}
	if r := c.get("/contact/", url.Values{"_skip": {"2100"}}); r.code != 200 {
		t.Errorf("max_skip 250000, _skip 2100: %d %s", r.code, r.raw)
	}
}

// TestStrictMaxSkipOnEveryOffsetResource: by default every offset list
// has a small max_skip of its own (Close's are per resource and
// unpublished), so a deep walk in any test meets it: the last allowed
// _skip is answered, the next one is Close's 400. Airbyte's contacts
// failure (GET /contact/?_skip=2100) reproduces.
func TestStrictMaxSkipOnEveryOffsetResource(t *testing.T) {
	_, c := newTest(t, Options{Seed: 1, Scale: 3})
	want := map[string]int{"/lead/": 150, "/contact/": 250, "/opportunity/": 250, "/task/": 250, "/activity/": 200,
		"/activity/email/": 200, "/activity/call/": 200, "/user/": 250, "/custom_field/lead/": 250, "/pipeline/": 250}
	var offset []string
	for path, rt := range routes {
		if rt.spec != nil && (rt.spec.maxLimit > 0 || path == "/lead/") {
			offset = append(offset, path)
		}
	}
	if len(offset) < 20 {
		t.Fatalf("only %d offset resources: %v", len(offset), offset)
	}
	for _, path := range offset {
		t.Run(path, func(t *testing.T) {
			q := url.Values{}
			if path == "/custom_object/" {
				q.Set("lead_id", "lead_x")
			}
			// Find the cap: the first refused _skip of 50, 100, ... 550.
			var refused int
			for skip := 50; skip <= 550; skip += 50 {
				q.Set("_skip", itoa(skip))
				r := c.get(path, q)
				if r.code == 200 {
					continue
				}
				msg := fmt.Sprintf(msgMaxSkip, skip-50)
				if r.code != 400 || r.body["error"] != msg {
					t.Fatalf("_skip %d: %d %s, want 400 %q", skip, r.code, r.raw, msg)
				}
				refused = skip
				break
			}
			if refused == 0 {
				t.Fatalf("_skip 550 answered: no strict max_skip")
			}
			if w, ok := want[path]; ok && refused-50 != w {
				t.Errorf("max_skip %d, want %d", refused-50, w)
			}
		})
	}
	if r := c.get("/contact/", url.Values{"_skip": {"2100"}}); r.code != 400 || !strings.Contains(fmt.Sprint(r.body["error"]), "max_skip = 250") {
		t.Errorf("GET /contact/?_skip=2100: %d %s", r.code, r.raw)
	}
}

// TestLimitZeroCountsOnly: _limit=0 answers the count where Close sends
// total_results (leads with a query, opportunities) and is refused
// elsewhere, where Close's answer is not known.
func TestLimitZeroCountsOnly(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 25})
	for _, tt := range []struct {
		path  string
		q     url.Values
		count int // -1: refused
	}{
		{"/lead/", url.Values{"query": {"sort:created"}}, s.Count(KindLead)},
		{"/opportunity/", url.Values{}, s.Count(KindOpportunity)},
		{"/lead/", url.Values{}, -1},
		{"/activity/", url.Values{}, -1},
		{"/activity/call/", url.Values{}, -1},
		{"/task/", url.Values{"_type": {"all"}}, -1},
		{"/user/", url.Values{}, -1},
		{"/event/", url.Values{}, -1}, // "_limit must be a positive integer"
	} {
		t.Run(tt.path+"?"+tt.q.Encode(), func(t *testing.T) {
			tt.q.Set("_limit", "0")
			r := c.get(tt.path, tt.q)
			if tt.count < 0 {
				if r.code != 400 {
					t.Errorf("answered %d: %s", r.code, r.raw)
				}
				return
			}
			if r.code != 200 || len(r.data()) != 0 || r.body["has_more"] != true || r.body["total_results"] != float64(tt.count) {
				t.Errorf("%d %s", r.code, r.raw)
			}
		})
	}
}

func TestUnpaginatedEndpoints(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 10})
	for path, kind := range map[string]string{"/status/lead/": KindLeadStatus, "/status/opportunity/": KindOpportunityStatus, "/pipeline/": "pipeline"} {
		r := ok(t, path, c.get(path, url.Values{"_limit": {"1"}, "_skip": {"1"}}))
		if len(r.data()) != s.Count(kind) || r.body["has_more"] != false {
			t.Errorf("%s: %d of %d, has_more %v", path, len(r.data()), s.Count(kind), r.body["has_more"])
		}
	}
}

func TestFieldsSelection(t *testing.T) {
	s, c := newTest(t, Options{Seed: 1, Scale: 30})
	r := ok(t, "_fields", c.get("/lead/", url.Values{"_fields": {"id,display_name,nope"}, "_limit": {"3"}}))
	for _, l := range r.data() {
		if len(l) != 2 || l["id"] == nil || l["display_name"] == nil {
			t.Errorf("lead %v", l)
		}
	}
	// _fields=custom selects every custom.cf_* key (and the custom dict).
	for _, l := range c.walk("/lead/", url.Values{"_fields": {"id,custom"}}, 200) {
		want, _ := s.Object(KindLead, l["id"].(string))
		for k, v := range want {
			if strings.HasPrefix(k, "custom.") && fmt.Sprint(l[k]) != fmt.Sprint(v) {
				t.Fatalf("lead %s: %s = %v, want %v", l["id"], k, l[k], v)
			}
		}
		if _, ok := l["custom"]; !ok || l["name"] != nil {
			t.Fatalf("lead %v", l)
		}
	}
	r = ok(t, "one", c.get("/task/"+s.IDs(KindTask)[0]+"/", url.Values{"_fields": {"_type,date"}}))
	if len(r.body) != 2 {
		t.Errorf("task %v", r.body)
	}
}

func TestTasksDefaultToLeadType(t *testing.T) {
	s, c := newTest(t, Options{Seed: 2, Scale: 120})
	count := map[string]int{}
	for _, tk := range s.Objects(KindTask) {
		count[tk["_type"].(string)]++
	}
	for _, tt := range []struct {
		name string
		q    url.Values
		want int
	}{
		{"default", nil, count["lead"]},
		{"all", url.Values{"_type": {"all"}}, s.Count(KindTask)},
		{"one type", url.Values{"_type": {"missed_call"}}, count["missed_call"]},
		{"__in", url.Values{"_type__in": {"email_followup,voicemail"}}, count["email_followup"] + count["voicemail"]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := c.walk("/task/", tt.q, 1000)
			if len(got) != tt.want || tt.want == 0 {
				t.Errorf("%d tasks, want %d", len(got), tt.want)
			}
			if tt.q == nil {
				for _, tk := range got {
					if tk["_type"] != "lead" {
						t.Fatalf("default /task/ returned a %v task", tk["_type"])
					}
				}
			}
		})
	}
	// Filters and ordering.
	done := c.walk("/task/", url.Values{"_type": {"all"}, "is_complete": {"true"}, "_order_by": {"-date"}}, 50)
	for i, tk := range done {
		if tk["is_complete"] != true {
			t.Fatal("is_complete=true returned an open task")
		}
		if i > 0 && timeKey(done[i-1]["date"]) < timeKey(tk["date"]) {
			t.Fatal("_order_by=-date not descending")
		}
	}
}

func TestActivityFilters(t *testing.T) {
	s, c := newTest(t, Options{Seed: 3, Scale: 80})
	acts := s.Objects(KindActivity)
	cut := fmtTime(fixedNow.Add(-120 * 24 * time.Hour))
	byType, since := map[string]int{}, 0
	for _, a := range acts {
		byType[a["_type"].(string)]++
		if a["date_created"].(string) >= cut {
			since++
		}
	}
	for _, at := range activityTypes {
		got := c.walk("/activity/"+at.path+"/", nil, 100)
		if len(got) != byType[at.typ] {
			t.Errorf("/activity/%s/: %d, want %d", at.path, len(got), byType[at.typ])
		}
		for _, a := range got {
			if a["_type"] != at.typ {
				t.Fatalf("/activity/%s/ returned a %v", at.path, a["_type"])
			}
		}
	}
	got := c.walk("/activity/", url.Values{"date_created__gte": {cut}, "_order_by": {"date_created"}}, 100)
	if len(got) != since {
		t.Errorf("date_created__gte: %d, want %d", len(got), since)
	}
	for i := 1; i < len(got); i++ {
		if timeKey(got[i-1]["date_created"]) > timeKey(got[i]["date_created"]) {
			t.Fatal("_order_by=date_created not ascending")
		}
	}
	desc := c.walk("/activity/", url.Values{"_order_by": {"-date_created"}, "_type__in": {"Call,Email"}}, 100)
	if len(desc) != byType["Call"]+byType["Email"] {
		t.Errorf("_type__in: %d", len(desc))
	}
	for i := 1; i < len(desc); i++ {
		if timeKey(desc[i-1]["date_created"]) < timeKey(desc[i]["date_created"]) {
			t.Fatal("_order_by=-date_created not descending")
		}
	}
	// There is no date_updated filter: Close ignores the parameter (the
	// fake's StrictFilters makes it a 400).
	if n := len(c.walk("/activity/", url.Values{"date_updated__gte": {fmtTime(fixedNow)}}, 100)); n != len(acts) {
		t.Errorf("date_updated__gte filtered activities: %d of %d", n, len(acts))
	}
	_, strict := newTest(t, Options{Seed: 3, Scale: 5, StrictFilters: true})
	for _, q := range []url.Values{{"date_updated__gte": {"2024-01-01"}}, {"_order_by": {"date_updated"}}, {"nope": {"1"}}} {
		if r := strict.get("/activity/", q); r.code != 400 {
			t.Errorf("strict %v: %d", q, r.code)
		}
	}
	if r := strict.get("/activity/call/", url.Values{"date_created__lt": {"2026-01-01T00:00:00"}, "lead_id": {"lead_x"}}); r.code != 200 {
		t.Errorf("strict with valid filters: %d %s", r.code, r.raw)
	}
}

func TestOpportunities(t *testing.T) {
	s, c := newTest(t, Options{Seed: 4, Scale: 120})
	won := c.walk("/opportunity/", url.Values{"status_type": {"won"}, "date_won__gte": {"2026-01-01"}, "_order_by": {"-value"}}, 250)
	want := 0
	for _, o := range s.Objects(KindOpportunity) {
		if o["status_type"] == "won" && o["date_won"].(string) >= "2026-01-01" {
			want++
		}
	}
	if len(won) != want || want == 0 {
		t.Errorf("won since 2026: %d, want %d", len(won), want)
	}
	for i := 1; i < len(won); i++ {
		if won[i-1]["value"].(float64) < won[i]["value"].(float64) {
			t.Fatal("_order_by=-value not descending")
		}
	}
	r := ok(t, "aggregates", c.get("/opportunity/", url.Values{"_limit": {"1"}}))
	total, byPeriod := 0.0, map[string]float64{}
	for _, o := range s.Objects(KindOpportunity) {
		total += o["annualized_value"].(float64)
		byPeriod[o["value_period"].(string)]++
	}
	if r.body["total_results"] != float64(s.Count(KindOpportunity)) || r.body["total_value_annualized"] != total ||
		fmt.Sprint(r.body["count_by_value_period"]) != fmt.Sprint(byPeriod) || r.body["total_value_annualized_formatted"] != formatCents(int(total)) {
		t.Errorf("aggregates %v %v %v", r.body["total_results"], r.body["total_value_annualized"], r.body["count_by_value_period"])
	}
}

func TestLeadLegacyQuery(t *testing.T) {
	s, c := newTest(t, Options{Seed: 6, Scale: 90})
	leads := s.Objects(KindLead)
	cut := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name, query string
		keep        func(l map[string]any) bool
		sortField   string
		desc        bool
	}{
		{"updated since, oldest created first", `date_updated >= "2026-03-01T10:00" sort:created`,
			func(l map[string]any) bool { return timeKey(l["date_updated"])[:16] >= "2026-03-01T10:00" }, "date_created", false},
		{"no spaces, unquoted", `date_updated>=2026-03-01T10:00 sort:-date_updated`,
			func(l map[string]any) bool { return timeKey(l["date_updated"])[:16] >= "2026-03-01T10:00" }, "date_updated", true},
		{"a window", `date_created > "2025-06-01T00:00" date_created < "2026-01-01T00:00" sort:date_created`,
			func(l map[string]any) bool {
				k := timeKey(l["date_created"])[:16]
				return k > "2025-06-01T00:00" && k < "2026-01-01T00:00"
			}, "date_created", false},
		{"updated alias", `updated <= "2026-03-01T10:00" sort:updated`,
			func(l map[string]any) bool { return timeKey(l["date_updated"])[:16] <= "2026-03-01T10:00" }, "date_updated", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := c.walk("/lead/", url.Values{"query": {tt.query}}, 200)
			want := 0
			for _, l := range leads {
				if tt.keep(l) {
					want++
				}
			}
			if len(got) != want || want == 0 || want == len(leads) {
				t.Fatalf("%d leads, want %d of %d", len(got), want, len(leads))
			}
			for i := 1; i < len(got); i++ {
				a, b := timeKey(got[i-1][tt.sortField]), timeKey(got[i][tt.sortField])
				if (a > b && !tt.desc) || (a < b && tt.desc) {
					t.Fatalf("not sorted by %s", tt.sortField)
				}
			}
			r := ok(t, "total", c.get("/lead/", url.Values{"query": {tt.query}, "_limit": {"1"}}))
			if r.body["total_results"] != float64(want) {
				t.Errorf("total_results %v, want %d", r.body["total_results"], want)
			}
		})
	}
	_ = cut
	// /lead/ has no date filter parameters: they are ignored, and no
	// total_results without a query.
	r := ok(t, "date param", c.get("/lead/", url.Values{"date_updated__gte": {"2026-10-01"}, "_limit": {"200"}}))
	if len(r.data()) != len(leads) || r.body["total_results"] != nil {
		t.Errorf("date_updated__gte on /lead/: %d leads, total %v", len(r.data()), r.body["total_results"])
	}
	if r := c.get("/lead/", url.Values{"query": {`name:"Acme"`}}); r.code != 400 {
		t.Errorf("unsupported query: %d", r.code)
	}
}

// Without a sort clause leads come most recently updated first, so a lead
// updated while a client pages moves to the front and the client misses
// it (closeio-api #96); with sort:created the walk is stable.
func TestLeadDefaultOrderShiftsUnderUpdates(t *testing.T) {
	for _, tt := range []struct {
		query  string
		misses bool
	}{{"", true}, {"sort:created", false}} {
		t.Run("query="+tt.query, func(t *testing.T) {
			clk := &clock{fixedNow}
			s, c := newTest(t, Options{Seed: 7, Scale: 30, Now: clk.now})
			q := url.Values{"_limit": {"10"}}
			if tt.query != "" {
				q.Set("query", tt.query)
			}
			first := ok(t, "page 1", c.get("/lead/", q)).data()
			if tt.query == "" {
				for i := 1; i < len(first); i++ {
					if timeKey(first[i-1]["date_updated"]) < timeKey(first[i]["date_updated"]) {
						t.Fatal("default order is not most recently updated first")
					}
				}
			}
			seen := map[string]bool{}
			for _, l := range first {
				seen[l["id"].(string)] = true
			}
			var victim string
			for _, id := range s.IDs(KindLead) {
				if !seen[id] {
					victim = id
					break
				}
			}
			clk.t = clk.t.Add(time.Minute)
			if err := s.Update(KindLead, victim, map[string]any{"description": "touched"}); err != nil {
				t.Fatal(err)
			}
			for skip := 10; ; skip += 10 {
				q.Set("_skip", itoa(skip))
				r := ok(t, "page", c.get("/lead/", q))
				for _, l := range r.data() {
					seen[l["id"].(string)] = true
				}
				if r.body["has_more"] != true {
					break
				}
			}
			if missed := !seen[victim]; missed != tt.misses {
				t.Errorf("missed the updated lead: %v, want %v", missed, tt.misses)
			}
		})
	}
}

func TestCustomFieldEndpoints(t *testing.T) {
	s, c := newTest(t, Options{Seed: 8, Scale: 10})
	byType := map[string]int{}
	for _, f := range s.Objects(KindCustomField) {
		byType[f["object_type"].(string)]++
	}
	for _, typ := range []string{"lead", "contact", "opportunity", "activity", "shared"} {
		got := ok(t, typ, c.get("/custom_field/"+typ+"/", nil)).data()
		if len(got) != byType[typ] || len(got) == 0 {
			t.Errorf("%s: %d of %d", typ, len(got), byType[typ])
		}
		for _, f := range got {
			if _, leaked := f["object_type"]; leaked {
				t.Errorf("the truth-only object_type leaked: %v", f)
			}
		}
	}
	types := map[string]bool{}
	for _, f := range s.Objects(KindCustomField) {
		types[f["type"].(string)] = true
	}
	for _, want := range []string{"text", "number", "date", "datetime", "choices", "user", "textarea"} {
		if !types[want] {
			t.Errorf("no %s custom field", want)
		}
	}
	if !slices.ContainsFunc(s.Objects(KindCustomField), func(f map[string]any) bool { return f["accepts_multiple_values"] == true }) {
		t.Error("no multi-value custom field")
	}
}

// TestActivityIDIn: /activity/ and /activity/<type>/ filter on id__in
// (close-api.md §5.1), each path within its own scope; a request target
// past MaxURLLength (2000 by default) is nginx's 414.
func TestActivityIDIn(t *testing.T) {
	s, c := newTest(t, Options{Seed: 6, Scale: 100})
	var notes, others []string
	for _, a := range s.Objects(KindActivity) {
		if a["_type"] == "Note" {
			notes = append(notes, a["id"].(string))
		} else {
			others = append(others, a["id"].(string))
		}
	}
	ids := append(append([]string{}, notes[:3]...), others[:2]...)
	in := url.Values{"id__in": {strings.Join(ids, ",")}, "_limit": {"100"}}
	for path, want := range map[string][]string{"/activity/": ids, "/activity/note/": notes[:3]} {
		var got []string
		for _, a := range ok(t, path, c.get(path, in)).data() {
			got = append(got, a["id"].(string))
		}
		slices.Sort(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s id__in: got %v, want %v", path, got, want)
		}
	}
	all := append(append([]string{}, notes...), others...)
	long := url.Values{"id__in": {strings.Join(all, ",")}, "_limit": {"100"}}
	if n := len("/api/v1/activity/?" + long.Encode()); n <= defaultMaxURLLength {
		t.Fatalf("the long request is only %d characters", n)
	}
	if r := c.get("/activity/", long); r.code != http.StatusRequestURITooLong || !strings.Contains(string(r.raw), "nginx") {
		t.Errorf("a %d-character URL: %d %.80s, want nginx's 414", len(long.Encode()), r.code, r.raw)
	}
	_, lifted := newTest(t, Options{Seed: 6, Scale: 100, MaxURLLength: -1})
	if r := lifted.get("/activity/", long); r.code != http.StatusOK || len(r.data()) != min(100, len(all)) {
		t.Errorf("MaxURLLength -1: %d, %d activities, want 200 and %d", r.code, len(r.data()), min(100, len(all)))
	}
}
