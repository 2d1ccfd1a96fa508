package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
)

// The end-to-end tests run the real command (in process, through run) against
// the fake Close API over HTTP on loopback and a DuckDB file in a temp dir.

// coreReports are the reports of the spine: every root report of the
// catalog that the fake serves.
var coreReports = []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
	"activities", "custom_fields", "event_log"}

type harness struct {
	t      *testing.T
	fake   *closefake.Server
	key    string // the fake's API key
	srv    *httptest.Server
	dir    string
	db     string
	config string

	// keepOpen (keepReadsOpen) keeps one read-only open of the file from
	// read to read, until the next command (run) or write (exec) closes it.
	keepOpen bool
	roMu     sync.Mutex
	ro       *sql.DB
}

func newHarness(t *testing.T, opts closefake.Options, reports ...string) *harness {
	t.Helper()
	h := &harness{t: t, fake: closefake.New(opts), dir: t.TempDir()}
	h.srv = httptest.NewServer(h.fake)
	t.Cleanup(h.srv.Close)
	h.db = filepath.Join(h.dir, "crm.duckdb")
	key := opts.APIKey
	if key == "" {
		key = closefake.DefaultAPIKey
	}
	h.key = key
	h.config = h.writeConfig(key, reports)
	return h
}

func (h *harness) writeConfig(key string, reports []string) string {
	if len(reports) == 0 {
		reports = coreReports
	}
	path := filepath.Join(h.dir, fmt.Sprintf("closesync-%d.yaml", len(key)))
	cfg := fmt.Sprintf(`database: %s
log: {level: warn}
accounts:
  - name: main
    api_key: %q
    base_url: %s/api/v1
jobs:
  - name: core
    account: main
    schedule: "@hourly"
    reports: [%s]
`, h.db, key, h.srv.URL, strings.Join(reports, ", "))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		h.t.Fatal(err)
	}
	return path
}

// run runs closesync with args and returns its exit code and output.
func (h *harness) run(args ...string) (int, string, string) {
	h.closeReads()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdout: &out, stderr: &errb, getenv: os.Getenv})
	return code, out.String(), errb.String()
}

func (h *harness) sync(args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run(append([]string{"sync", "--config", h.config}, args...)...)
	if code != 0 {
		h.t.Fatalf("sync exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	return out
}

// query runs a query on the synced file (opened read-only, as a reader would).
func (h *harness) query(q string, args ...any) [][]any {
	h.t.Helper()
	var out [][]any
	h.reading(func(db *sql.DB) { out = h.queryOn(db, q, args...) })
	return out
}

// reading gives f one read-only open of the file: opening it costs far
// more than a query (the catalog of every table and view is read, about
// 60 ms at 130 views), so a check of many tables opens it once, and a test
// that keepReadsOpen shares one open among all its reads between commands.
func (h *harness) reading(f func(db *sql.DB)) {
	h.t.Helper()
	h.roMu.Lock()
	defer h.roMu.Unlock()
	db := h.ro
	if db == nil {
		var err error
		if db, err = sql.Open("duckdb", h.db+"?access_mode=READ_ONLY"); err != nil {
			h.t.Fatal(err)
		}
		if h.keepOpen {
			h.ro = db
		} else {
			defer db.Close()
		}
	}
	f(db)
}

// keepReadsOpen makes the reads between two commands share one open of the
// file. Only for a test whose writers all go through h.run, h.sync or
// h.exec (each closes it first): a writer in another process, such as a
// daemon, would wait for the file's lock while the test holds it.
func (h *harness) keepReadsOpen() {
	h.keepOpen = true
	h.t.Cleanup(h.closeReads)
}

// closeReads closes the kept read-only open, before anything writes.
func (h *harness) closeReads() {
	h.roMu.Lock()
	defer h.roMu.Unlock()
	if h.ro != nil {
		if err := h.ro.Close(); err != nil {
			h.t.Errorf("close the test's read-only open of %s: %v", h.db, err)
		}
		h.ro = nil
	}
}

// queryOn runs a query on db and returns its rows.
func (h *harness) queryOn(db *sql.DB, q string, args ...any) [][]any {
	h.t.Helper()
	rows, err := db.Query(q, args...) //nolint:rowserrcheck // load.ScanAll checks rows.Err
	if err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	_, out, err := load.ScanAll(rows)
	if err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
	return out
}

func (h *harness) count(q string, args ...any) int64 {
	h.t.Helper()
	switch v := h.query(q, args...)[0][0].(type) {
	case int64:
		return v
	case *big.Int:
		return v.Int64()
	case nil:
		return 0
	default:
		h.t.Fatalf("%s: not a count: %T", q, v)
		return 0
	}
}

// counts runs count queries on one read-only open of the file, in order:
// opening the file costs far more than a count, so a check of every table
// opens it once instead of once a table.
func (h *harness) counts(qs ...string) []int64 {
	h.t.Helper()
	out := make([]int64, len(qs))
	h.reading(func(db *sql.DB) {
		for i, q := range qs {
			var v any
			if err := db.QueryRow(q).Scan(&v); err != nil {
				h.t.Fatalf("%s: %v", q, err)
			}
			switch n := v.(type) {
			case int64:
				out[i] = n
			case *big.Int:
				out[i] = n.Int64()
			case nil:
			default:
				h.t.Fatalf("%s: not a count: %T", q, v)
			}
		}
	})
	return out
}

// truth computes the expected row count of every core table from the fake.
func (h *harness) truth() map[string]int {
	want := map[string]int{
		"leads":                h.fake.Count("lead"),
		"contacts":             h.fake.Count("contact"),
		"opportunities":        h.fake.Count("opportunity"),
		"tasks":                h.fake.Count("task"),
		"users":                h.fake.Count("user"),
		"lead_statuses":        h.fake.Count("lead_status"),
		"opportunity_statuses": h.fake.Count("opportunity_status"),
		"activities":           h.fake.Count("activity"),
		"custom_fields":        h.fake.Count("custom_field"),
		"event_log":            h.fake.Count("event"),
	}
	arrays := func(kind, field string) int {
		n := 0
		for _, o := range h.fake.Objects(kind) {
			if a, ok := o[field].([]any); ok {
				n += len(a)
			}
		}
		return n
	}
	want["contacts_emails"] = arrays("contact", "emails")
	want["contacts_phones"] = arrays("contact", "phones")
	want["contacts_urls"] = arrays("contact", "urls")
	want["leads_addresses"] = arrays("lead", "addresses")
	want["leads_contacts"] = arrays("lead", "contacts")
	want["leads_opportunities"] = arrays("lead", "opportunities")
	want["leads_tasks"] = arrays("lead", "tasks")
	return want
}

func (h *harness) checkTruth() {
	h.t.Helper()
	truth := h.truth()
	var tables, qs []string
	for table := range truth {
		tables = append(tables, table)
		qs = append(qs, fmt.Sprintf(`SELECT count(*) FROM close.%s WHERE _deleted_at IS NULL`, table))
	}
	got := h.counts(qs...)
	for i, table := range tables {
		want, got := truth[table], got[i]
		if got != int64(want) {
			h.t.Errorf("close.%s: %d rows, fake has %d", table, got, want)
		}
		if want == 0 {
			h.t.Errorf("close.%s: the fake has no rows for it; the test proves nothing", table)
		}
	}
}

func TestSyncEqualsTruthAndIsIdempotent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 7, Scale: 120})
	h.keepReadsOpen()
	out := h.sync()
	for _, r := range coreReports {
		if !strings.Contains(out, "success  core/"+r+":") {
			t.Errorf("no success line for %s in:\n%s", r, out)
		}
	}
	h.checkTruth()
	h.sync()
	h.checkTruth()
	for _, r := range extract.Catalog() {
		if !contains(coreReports, extract.Root(r).Name) || len(r.Table.Key) != 1 {
			continue
		}
		if dup := h.count(fmt.Sprintf(`SELECT count(*) - count(DISTINCT id) FROM close.%s`, r.Name)); dup != 0 {
			t.Errorf("close.%s: %d duplicate ids after two syncs", r.Name, dup)
		}
	}
	runs := h.count(`SELECT count(*) FROM sync.runs WHERE status = 'success' AND finished_at IS NOT NULL AND requests > 0`)
	if runs != int64(2*len(coreReports)) {
		t.Errorf("successful run rows = %d, want %d", runs, 2*len(coreReports))
	}
	// Typed columns are typed, and _raw keeps the whole object.
	if n := h.count(`SELECT count(*) FROM close.leads WHERE date_updated IS NULL OR json_extract_string(_raw, '$.id') <> id OR json_type(_raw, '$.contacts') <> 'ARRAY'`); n != 0 {
		t.Errorf("%d leads with a NULL date_updated or a _raw that is not the object", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestIncrementalUpdatesAndChildren(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 3, Scale: 60})
	h.keepReadsOpen()
	h.sync()
	leadID := h.fake.IDs("lead")[5]
	if err := h.fake.Update("lead", leadID, map[string]any{"name": "Renamed Inc"}); err != nil {
		t.Fatal(err)
	}
	var contactID string
	var emails []any
	for _, c := range h.fake.Objects("contact") {
		if e, _ := c["emails"].([]any); len(e) >= 2 {
			contactID, emails = c["id"].(string), e
			break
		}
	}
	if contactID == "" {
		t.Fatal("fake has no contact with two emails")
	}
	if err := h.fake.Update("contact", contactID, map[string]any{"emails": emails[:1]}); err != nil {
		t.Fatal(err)
	}
	newID, err := h.fake.Create("lead", map[string]any{"name": "Brand New Lead", "status_id": h.fake.IDs("lead_status")[0]})
	if err != nil {
		t.Fatal(err)
	}
	out := h.sync()
	if got := h.query(`SELECT name FROM close.leads WHERE id = ?`, leadID); len(got) != 1 || got[0][0] != "Renamed Inc" {
		t.Errorf("updated lead = %v", got)
	}
	if n := h.count(`SELECT count(*) FROM close.leads WHERE id = ?`, newID); n != 1 {
		t.Errorf("new lead rows = %d", n)
	}
	if n := h.count(`SELECT count(*) FROM close.contacts_emails WHERE contact_id = ?`, contactID); n != 1 {
		t.Errorf("contact %s has %d email rows after removing one of two", contactID, n)
	}
	h.checkTruth()
	// The second run of leads was incremental: far fewer rows than the table.
	if n := h.count(`SELECT rows_extracted FROM sync.runs WHERE report = 'leads' ORDER BY run_id DESC LIMIT 1`); n >= int64(h.fake.Count("lead")) {
		t.Errorf("incremental leads run extracted %d rows of %d\n%s", n, h.fake.Count("lead"), out)
	}
}

func TestRetriesRateLimitsAndServerErrors(t *testing.T) {
	t.Parallel()
	// A tight rate limit (the client paces itself from the RateLimit header),
	// one request in five failing with 502/503/504, and two 429s up front.
	h := newHarness(t, closefake.Options{Seed: 5, Scale: 250, RateLimit: 10, FailureRate: 0.2}, "leads", "contacts", "activities", "users")
	h.fake.FailNext(2, http.StatusTooManyRequests)
	h.sync()
	if n := h.count(`SELECT sum(retries) FROM sync.runs WHERE status = 'success'`); n == 0 {
		t.Error("no retries recorded although the fake rate-limited and failed requests")
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status <> 'success'`); n != 0 {
		t.Errorf("%d runs did not succeed", n)
	}
	if got, want := h.count(`SELECT count(*) FROM close.leads`), int64(h.fake.Count("lead")); got != want {
		t.Errorf("leads = %d, want %d", got, want)
	}
}

func TestBadKeyFailsWithoutPrintingIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 1, Scale: 5}, "leads", "users")
	const badKey = "api_5ecretWr0ngKeyThatMustNeverBePrinted"
	h.config = h.writeConfig(badKey, []string{"leads", "users"})
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != 1 {
		t.Errorf("exit = %d, want 1", code)
	}
	if strings.Contains(out+errOut, badKey) {
		t.Errorf("the API key appears in the output:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(out, "API key rejected by Close for account main") {
		t.Errorf("output does not explain the failure:\n%s", out)
	}
	rows := h.query(`SELECT status, error FROM sync.runs ORDER BY run_id`)
	if len(rows) != 2 {
		t.Fatalf("runs = %v", rows)
	}
	for _, r := range rows {
		if r[0] != "failed" || strings.Contains(fmt.Sprint(r[1]), badKey) || !strings.Contains(fmt.Sprint(r[1]), "rejected") {
			t.Errorf("run row = %v", r)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(`database: ./x.duckdb
accounts:
  - name: main
jobs:
  - name: core
    account: mian
    schedule: "every tuesday"
    reports: [leds, contacts]
`), 0o600)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"validate", "--config", path}, &env{stdout: &out, stderr: &errb, getenv: os.Getenv})
	if code != 2 {
		t.Errorf("exit = %d, want 2", code)
	}
	for _, want := range []string{`accounts[0]`, `jobs[0].account`, `"mian"`, `jobs[0].schedule`, `jobs[0].reports[0]`, `did you mean "leads"`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("validate output lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 1, Scale: 5}, "leads")
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"sync"}, 2, "--config is required"},
		{[]string{"sync", "--config", h.config, "--report", "leds"}, 2, `unknown report "leds"`},
		{[]string{"sync", "--config", h.config, "--job", "nope"}, 2, `unknown job "nope" (jobs: core)`},
		{[]string{"sync", "--config", h.config, "--bogus"}, 2, "unknown flag --bogus; see 'closesync sync --help'"},
		{[]string{"sync", "--config", h.config, "--report", "opportunity"}, 2, `unknown report "opportunity" (did you mean "opportunities"?)`},
		{[]string{"sync", "--help"}, 0, ""},
		{[]string{"reports"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := h.run(tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.want)
			}
		})
	}
}

func TestReportsAndHistoryOutput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 2, Scale: 10}, "users")
	code, out, _ := h.run("reports")
	if code != 0 {
		t.Fatal(code)
	}
	for _, r := range extract.Names() {
		if !strings.Contains(out, r) {
			t.Errorf("reports output lacks %s", r)
		}
	}
	h.sync()
	code, out, errOut := h.run("history", "--config", h.config, "--json")
	if code != 0 || !strings.Contains(out, `"report": "users"`) || !strings.Contains(out, `"status": "success"`) {
		t.Errorf("history: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestDemo runs the demo as README says, checks what it prints, and then
// what a person querying its file sees: a comment on every table, view and
// column, and README's queries answering.
func TestDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--dir", dir, "--scale", "40"}, &env{stdout: &out, stderr: &errb, getenv: os.Getenv})
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, r := range extract.Catalog() {
		if r.MayBeEmpty {
			continue
		}
		line := ""
		for _, l := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(l); len(f) == 2 && f[0] == r.Name {
				line = l
			}
		}
		if line == "" || strings.HasSuffix(strings.TrimSpace(line), " 0") {
			t.Errorf("demo shows no rows for %s (%q)", r.Name, line)
		}
	}
	if !strings.Contains(out.String(), "Lead Source  leads") {
		t.Errorf("demo output lacks the custom-field query's result:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "Leads by status") {
		t.Errorf("demo output lacks sample queries:\n%s", out.String())
	}
	// What a person querying the demo's file sees: comments everywhere,
	// and README's queries.
	path := filepath.Join(dir, "closesync-demo.duckdb")
	t.Run("EveryTableViewAndColumnHasAComment", func(t *testing.T) { checkComments(t, path) })
	t.Run("ReadmeQueries", func(t *testing.T) { checkReadmeQueries(t, path) })
}

func TestCustomFieldViewsFollowRenames(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 8, Scale: 60})
	h.sync()
	for _, table := range []string{"leads", "contacts", "opportunities", "activities"} {
		h.count(fmt.Sprintf(`SELECT count(*) FROM close.%s_custom`, table)) // the view exists and binds
	}
	var sourceID string
	for _, f := range h.fake.Objects("custom_field") {
		if f["name"] == "Lead Source" {
			sourceID = f["id"].(string)
		}
	}
	want := 0
	for _, l := range h.fake.Objects("lead") {
		if l["custom."+sourceID] != nil {
			want++
		}
	}
	if got := h.count(`SELECT count("Lead Source") FROM close.leads_custom`); got != int64(want) || want == 0 {
		t.Errorf("leads with a Lead Source = %d, want %d", got, want)
	}
	if err := h.fake.Update("custom_field", sourceID, map[string]any{"name": "Origin"}); err != nil {
		t.Fatal(err)
	}
	h.sync("--report", "custom_fields")
	if got := h.count(`SELECT count("Origin") FROM close.leads_custom`); got != int64(want) {
		t.Errorf("after rename: %d leads with an Origin, want %d", got, want)
	}
	if n := h.count(`SELECT count(*) FROM duckdb_columns() WHERE table_name = 'leads_custom' AND column_name = 'Lead Source'`); n != 0 {
		t.Error("the old name is still a column")
	}
	// The same holds for a field of each other object type: rename one
	// that has values, and its view column follows with the same values.
	for _, c := range []struct{ objectType, kind, table string }{
		{"contact", "contact", "contacts"}, {"opportunity", "opportunity", "opportunities"}, {"activity", "activity", "activities"}} {
		var id, name string
		for _, f := range h.fake.Objects("custom_field") {
			if f["object_type"] != c.objectType && !(c.objectType == "activity" && f["custom_activity_type_id"] != nil) {
				continue
			}
			n := 0
			for _, o := range h.fake.Objects(c.kind) {
				if o["custom."+f["id"].(string)] != nil {
					n++
				}
			}
			if n > 0 {
				id, name = f["id"].(string), f["name"].(string)
				break
			}
		}
		if id == "" {
			t.Errorf("%s: no custom field with values in the fake", c.table)
			continue
		}
		before := h.count(fmt.Sprintf(`SELECT count(%q) FROM close.%s_custom`, name, c.table))
		if before == 0 {
			t.Errorf("%s_custom.%q has no values", c.table, name)
		}
		renamed := name + " renamed"
		if err := h.fake.Update("custom_field", id, map[string]any{"name": renamed}); err != nil {
			t.Fatal(err)
		}
		h.sync("--report", "custom_fields")
		if got := h.count(fmt.Sprintf(`SELECT count(%q) FROM close.%s_custom`, renamed, c.table)); got != before {
			t.Errorf("%s_custom after renaming %q: %d values, want %d", c.table, name, got, before)
		}
	}
}

func TestDeletesFromTheEventLog(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 11, Scale: 50})
	h.keepReadsOpen()
	h.sync()
	// The deleted lead has children of every kind, so that each cascade is
	// exercised whatever the fake generated.
	kinds := map[string]map[string]bool{}
	for _, kind := range []string{"contact", "opportunity", "task", "activity"} {
		kinds[kind] = map[string]bool{}
		for _, o := range h.fake.Objects(kind) {
			kinds[kind][fmt.Sprint(o["lead_id"])] = true
		}
	}
	var gone string
	var leads []string
	for _, id := range h.fake.IDs("lead") {
		if gone == "" && kinds["contact"][id] && kinds["opportunity"][id] && kinds["task"][id] && kinds["activity"][id] {
			gone = id
		} else {
			leads = append(leads, id)
		}
	}
	if gone == "" {
		t.Fatal("no lead with contacts, opportunities, tasks and activities in the fake")
	}
	merged, into := leads[4], leads[5]
	var lonely string // a contact of a lead that stays
	for _, c := range h.fake.Objects("contact") {
		if l := c["lead_id"]; l != gone && l != merged && l != into {
			lonely = c["id"].(string)
			break
		}
	}
	childrenOf := func(lead string) (ids []string) {
		for _, kind := range []string{"contact", "opportunity", "task", "activity"} {
			for _, o := range h.fake.Objects(kind) {
				if o["lead_id"] == lead {
					ids = append(ids, o["id"].(string))
				}
			}
		}
		return ids
	}
	cascaded := childrenOf(gone)
	if err := h.fake.Delete("lead", gone); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Delete("contact", lonely); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.MergeLeads(merged, into); err != nil {
		t.Fatal(err)
	}
	h.sync()
	deleted := func(table, id string) bool {
		return h.count(fmt.Sprintf(`SELECT count(*) FROM close.%s WHERE id = ? AND _deleted_at IS NOT NULL`, table), id) == 1
	}
	for _, c := range []struct{ table, id string }{{"leads", gone}, {"leads", merged}, {"contacts", lonely}} {
		if !deleted(c.table, c.id) {
			t.Errorf("close.%s %s is not marked deleted", c.table, c.id)
		}
	}
	if deleted("leads", into) {
		t.Error("the merge destination was marked deleted")
	}
	if n := h.count(`SELECT count(*) FROM (SELECT id FROM close.contacts WHERE _deleted_at IS NOT NULL UNION ALL
		SELECT id FROM close.opportunities WHERE _deleted_at IS NOT NULL UNION ALL SELECT id FROM close.tasks WHERE _deleted_at IS NOT NULL
		UNION ALL SELECT id FROM close.activities WHERE _deleted_at IS NOT NULL)`); n != int64(len(cascaded))+1 {
		t.Errorf("%d children marked deleted, want the %d of the deleted lead plus one contact", n, len(cascaded))
	}
	if n := h.count(`SELECT count(*) FROM close.leads_contacts WHERE lead_id = ? AND _deleted_at IS NULL`, gone); n != 0 {
		t.Errorf("%d leads_contacts rows of the deleted lead are still live", n)
	}
	if n := h.count(`SELECT rows_deleted FROM sync.runs WHERE report = 'event_log' ORDER BY run_id DESC LIMIT 1`); n == 0 {
		t.Error("rows_deleted not recorded")
	}
	h.checkTruth() // live rows equal the fake again
}

func TestDeepPaginationPastMaxSkip(t *testing.T) {
	t.Parallel()
	// Every resource refuses _skip past 150: far below the data's size.
	h := newHarness(t, closefake.Options{Seed: 12, Scale: 400, MaxSkip: map[string]int{"*": 150}},
		"leads", "opportunities", "tasks", "activities", "activities_call", "event_log", "contacts")
	h.keepReadsOpen()
	code, out, _ := h.run("sync", "--config", h.config)
	if code != 0 {
		t.Errorf("exit = %d, want 0", code)
	}
	for _, r := range []string{"leads", "opportunities", "tasks", "activities", "activities_call", "event_log", "contacts"} {
		if !strings.Contains(out, "success  core/"+r+":") {
			t.Errorf("%s did not succeed:\n%s", r, out)
		}
	}
	want := h.truth()
	for _, table := range []string{"leads", "opportunities", "tasks", "activities", "leads_contacts", "event_log", "contacts",
		"contacts_emails", "contacts_phones"} {
		if got := h.count(fmt.Sprintf(`SELECT count(*) FROM close.%s`, table)); got != int64(want[table]) {
			t.Errorf("close.%s: %d rows, fake has %d", table, got, want[table])
		}
	}
	// Contacts come from a search that names every field it wants: their
	// custom field values must have come along.
	withCustom := 0
	for _, c := range h.fake.Objects("contact") {
		for k := range c {
			if strings.HasPrefix(k, "custom.") {
				withCustom++
				break
			}
		}
	}
	if got := h.count(`SELECT count(*) FROM close.contacts WHERE custom IS NOT NULL AND custom::VARCHAR <> '{}'`); got != int64(withCustom) || withCustom == 0 {
		t.Errorf("%d contacts with custom values, fake has %d", got, withCustom)
	}
	// A bulk edit of 300 contacts: the next run reads only what changed,
	// and the table equals the fake again.
	for i, c := range h.fake.Objects("contact") {
		if i == 300 {
			break
		}
		if err := h.fake.Update("contact", c["id"].(string), map[string]any{"title": "VP"}); err != nil {
			t.Fatal(err)
		}
	}
	h.sync("--report", "contacts")
	if got := h.count(`SELECT count(*) FROM close.contacts WHERE title = 'VP'`); got != 300 {
		t.Errorf("%d contacts with the new title, want 300", got)
	}
	rows := h.query(`SELECT rows_extracted FROM sync.runs WHERE report = 'contacts' ORDER BY run_id DESC LIMIT 1`)
	if n := rows[0][0].(int64); n < 300 || n > 400 {
		t.Errorf("the incremental contacts run read %d contacts, want the 300 changed (and a few at the boundary)", n)
	}
}

// dimensionKinds maps each configuration report to the fake's collection.
var dimensionKinds = map[string]string{
	"pipelines": "pipeline", "roles": "role", "groups": "group", "sequences": "sequence", "sequence_subscriptions": "sequence_subscription",
	"custom_activity_types": "custom_activity_type", "custom_object_types": "custom_object_type", "connected_accounts": "connected_account",
	"phone_numbers": "phone_number", "integration_links": "integration_link", "sms_templates": "sms_template", "email_templates": "email_template",
	"smart_views": "smart_view", "send_as": "send_as", "outcomes": "outcome", "dialers": "dialer", "webhooks": "webhook", "exports": "export",
	"bulk_actions": "bulk_action",
}

func TestConfigurationReportsEqualTruth(t *testing.T) {
	t.Parallel()
	var reports []string
	for r := range dimensionKinds {
		reports = append(reports, r)
	}
	h := newHarness(t, closefake.Options{Seed: 13, Scale: 150}, reports...)
	h.keepReadsOpen()
	for round := 1; round <= 2; round++ {
		h.sync()
		for report, kind := range dimensionKinds {
			want := h.fake.Count(kind)
			got := h.count(fmt.Sprintf(`SELECT count(*) FROM close.%s`, report))
			if got != int64(want) || want == 0 {
				t.Errorf("round %d: close.%s has %d rows, fake has %d", round, report, got, want)
			}
			if dup := h.count(fmt.Sprintf(`SELECT count(*) - count(DISTINCT id) FROM close.%s`, report)); dup != 0 {
				t.Errorf("close.%s: %d duplicate ids", report, dup)
			}
		}
	}
	if n := h.count(`SELECT count(DISTINCT kind) FROM close.bulk_actions`); n != 4 {
		t.Errorf("bulk action kinds = %d, want 4", n)
	}
	if n := h.count(`SELECT count(*) FROM close.smart_views WHERE type = 'contact'`); n == 0 {
		t.Error("contact smart views missing: the API returns lead ones unless asked")
	}
	if n := h.count(`SELECT count(*) FROM close.pipelines WHERE date_created IS NULL`); n != 0 {
		t.Error("naive pipeline timestamps did not parse")
	}
}

func TestOrganizationAndSelfReports(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 14, Scale: 30}, "organizations", "users_self", "users_self_email_accounts")
	h.sync()
	users := h.fake.Count("user")
	for _, c := range []struct {
		q    string
		want int
	}{
		{`SELECT count(*) FROM close.organizations WHERE name = 'Demo Org'`, 1},
		{`SELECT count(*) FROM close.organizations_memberships`, users - (users+2)/4},
		{`SELECT count(*) FROM close.organizations_inactive_memberships`, (users + 2) / 4},
		{`SELECT count(*) FROM close.organizations_lead_statuses`, h.fake.Count("lead_status")},
		{`SELECT count(*) FROM close.organizations_opportunity_statuses`, h.fake.Count("opportunity_status")},
		{`SELECT count(*) FROM close.organizations_invoices`, 0},
		{`SELECT count(*) FROM close.users_self`, 1},
		{`SELECT count(*) FROM close.users_self_organizations`, 1},
		{`SELECT count(*) FROM close.users_self_memberships`, 1},
		{`SELECT count(*) FROM close.users_self_email_signatures`, 1},
		{`SELECT count(*) FROM close.users_self_sip_numbers`, 1},
		// Only the key's own user's accounts (3 of the fake's 4).
		{`SELECT count(*) FROM close.users_self_email_accounts`, 3},
	} {
		if got := h.count(c.q); got != int64(c.want) {
			t.Errorf("%s = %d, want %d", c.q, got, c.want)
		}
	}
	// A job naming an organization the key cannot see fails that report clearly.
	cfg := strings.Replace(mustRead(t, h.config), "    account: main\n", "    account: main\n    organization_id: orga_doesnotexist\n", 1)
	os.WriteFile(h.config, []byte(cfg), 0o600)
	code, out, _ := h.run("sync", "--config", h.config, "--report", "organizations")
	if code != 1 || !strings.Contains(out, "/organization/orga_doesnotexist/: 404") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}

func TestAccessErrorsFailOnlyTheirReport(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 15, Scale: 20, Deny: map[string]int{
		"/event/": http.StatusBadRequest, "/user/": http.StatusForbidden, "/sequence/": http.StatusPaymentRequired}},
		"event_log", "users", "sequences", "leads")
	code, out, _ := h.run("sync", "--config", h.config)
	if code != 1 {
		t.Errorf("exit = %d, want 1", code)
	}
	for report, msg := range map[string]string{
		"event_log": "400 Bad Request: You don't have access to the event log.",
		"users":     "403 Forbidden: You don't have permission",
		"sequences": "402 Payment Required: Your plan does not include this feature.",
	} {
		rows := h.query(`SELECT status, error FROM sync.runs WHERE report = ?`, report)
		if len(rows) != 1 || rows[0][0] != "failed" || !strings.Contains(fmt.Sprint(rows[0][1]), msg) {
			t.Errorf("%s run = %v, want failed with %q", report, rows, msg)
		}
	}
	if !strings.Contains(out, "success  core/leads:") || h.count(`SELECT count(*) FROM close.leads`) != int64(h.fake.Count("lead")) {
		t.Errorf("leads did not land despite the other reports' access errors:\n%s", out)
	}
}

func TestHelpPrintsUsageOnce(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{c.name, "--help"}, &env{stdout: &out, stderr: &errb, getenv: os.Getenv})
		if code != 0 || strings.Count(out.String(), "Usage:\n") != 1 || errb.Len() > 0 {
			t.Errorf("%s --help: exit %d\n%s%s", c.name, code, out.String(), errb.String())
		}
	}
}
