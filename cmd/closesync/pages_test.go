package main

import (
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// faults is a switchable closefake Options.NonPage: per path, the bodies
// to answer in turn (the last one repeats) and how often it was asked.
type faults struct {
	mu     sync.Mutex
	bodies map[string][]string
	asked  map[string]int
}

func (f *faults) set(path string, bodies ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = map[string][]string{path: bodies}
	f.asked = map[string]int{}
}

func (f *faults) clear() { f.set("") }

func (f *faults) times(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[path]
}

func (f *faults) nonPage(path string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	bodies, ok := f.bodies[path]
	if !ok || len(bodies) == 0 {
		return "", false
	}
	n := f.asked[path]
	f.asked[path]++
	if n >= len(bodies) {
		n = len(bodies) - 1
	}
	if bodies[n] == "<real>" {
		return "", false
	}
	return bodies[n], true
}

// checksums is a count and a hash of every row of every table and view of
// the close schema (the <table>_custom views included).
func (h *harness) checksums() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	h.reading(func(db *sql.DB) {
		for _, row := range h.queryOn(db, `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'close'
			UNION ALL SELECT view_name FROM duckdb_views() WHERE schema_name = 'close'`) {
			name := row[0].(string)
			r := h.queryOn(db, fmt.Sprintf(`SELECT count(*), coalesce(sum(hash(t))::VARCHAR, '') FROM close.%s t`, name))[0]
			out[name] = fmt.Sprintf("%v rows, hash %v", r[0], r[1])
		}
	})
	return out
}

// lastRun is the status and error of the report's latest sync.runs row.
func (h *harness) lastRun(report string) (status, errText string) {
	h.t.Helper()
	r := h.query(`SELECT status, coalesce(error, '') FROM sync.runs WHERE report = ? ORDER BY run_id DESC LIMIT 1`, report)
	if len(r) == 0 {
		h.t.Fatalf("no run of %s", report)
	}
	return r[0][0].(string), r[0][1].(string)
}

// TestNonPageAnswersChangeNothing: after a first sync, every paging style
// answers 200 with bodies that are not pages. Each run fails naming the
// endpoint and quoting the body, its sync.runs row says failed, and not a
// row of any table or view changes.
func TestNonPageAnswersChangeNothing(t *testing.T) {
	t.Parallel()
	f := &faults{}
	h := newHarness(t, closefake.Options{Seed: 41, Scale: 30, NonPage: f.nonPage},
		"leads", "contacts", "users", "lead_statuses", "custom_fields", "event_log", "organizations")
	h.keepReadsOpen()
	h.sync()
	before := h.checksums()
	for _, v := range []string{"leads_custom", "contacts_custom"} {
		if _, ok := before[v]; !ok {
			t.Fatalf("no view close.%s after the first sync: the test would prove nothing", v)
		}
	}
	styles := []struct{ report, path, style string }{
		{"users", "/user/", "offset, replace"},
		{"custom_fields", "/custom_field/contact/", "offset, replace, second of several sources"},
		{"lead_statuses", "/status/lead/", "single, replace"},
		{"organizations", "/organization/" + h.fake.OrganizationID() + "/", "object, replace"},
		{"event_log", "/event/", "cursor, incremental"},
		{"contacts", "/data/search/", "search, incremental"},
	}
	bodies := []struct{ name, body, quote string }{
		{"error object", `{"error": "Service temporarily unavailable"}`, "Service temporarily unavailable"},
		{"empty", ``, "empty body"},
		{"null", `null`, `"null"`},
		{"html", `<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body>Back soon.</body></html>`, "Down for maintenance"},
		{"object without data", `{"status": "ok"}`, `status`},
		{"data not an array", `{"data": {"id": "x"}, "has_more": false, "cursor": null, "cursor_next": null}`, `has_more`},
	}
	for _, st := range styles {
		for _, b := range bodies {
			t.Run(st.report+"/"+b.name, func(t *testing.T) {
				f.set(st.path, b.body)
				defer f.clear()
				code, out, _ := h.run("sync", "--config", h.config, "--report", st.report)
				if code == 0 {
					t.Fatalf("%s (%s) answered %q and the sync exited 0:\n%s", st.report, st.style, b.body, out)
				}
				if f.times(st.path) == 0 {
					t.Fatalf("%s was never asked for", st.path)
				}
				status, errText := h.lastRun(st.report)
				if status != "failed" {
					t.Errorf("sync.runs says %s", status)
				}
				if !strings.Contains(errText, st.path) || !strings.Contains(errText, "not a page") {
					t.Errorf("the error does not name %s and say it is not a page: %s", st.path, errText)
				}
				if !strings.Contains(errText, b.quote) {
					t.Errorf("the error does not quote the body (%s): %s", b.quote, errText)
				}
				if !strings.Contains(out, "failed") || !strings.Contains(out, st.path) {
					t.Errorf("the output does not say the run failed at %s:\n%s", st.path, out)
				}
			})
		}
		// Every table and view as it was, after the six failed runs of
		// this style (one read of the whole file per style, not per run:
		// the reads were most of this test's time).
		after := h.checksums()
		for name, sum := range before {
			if after[name] != sum {
				t.Errorf("%s (%s): after the non-page answers close.%s changed: %s, was %s", st.report, st.style, name, after[name], sum)
			}
		}
	}
}

// TestEmptyReplaceNeedsTwoEmptyAnswers: a full refresh that reads a
// well-formed empty page where its table has rows reads the listing once
// more; it empties the table only when the second answer is empty too.
func TestEmptyReplaceNeedsTwoEmptyAnswers(t *testing.T) {
	t.Parallel()
	f := &faults{}
	h := newHarness(t, closefake.Options{Seed: 43, Scale: 30, NonPage: f.nonPage}, "users", "lead_statuses")
	h.sync()
	users, statuses := int64(h.fake.Count("user")), int64(h.fake.Count("lead_status"))
	if users == 0 || statuses == 0 {
		t.Fatal("the fake has no users or statuses")
	}
	const emptyOffset, emptySingle = `{"data": [], "has_more": false}`, `{"data": []}`
	for _, c := range []struct {
		name, report, path string
		answers            []string
		wantOK             bool
		wantRows           int64
	}{
		{"empty once, then the real page", "users", "/user/", []string{emptyOffset, "<real>"}, true, users},
		{"empty, then not a page", "users", "/user/", []string{emptyOffset, `{"error": "bad gateway"}`}, false, users},
		{"single: empty once", "lead_statuses", "/status/lead/", []string{emptySingle, "<real>"}, true, statuses},
		{"empty twice", "users", "/user/", []string{emptyOffset}, true, 0},
		{"single: empty twice", "lead_statuses", "/status/lead/", []string{emptySingle}, true, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.set(c.path, c.answers...)
			defer f.clear()
			code, out, _ := h.run("sync", "--config", h.config, "--report", c.report)
			if ok := code == 0; ok != c.wantOK {
				t.Fatalf("exit %d, want success %v:\n%s", code, c.wantOK, out)
			}
			if n := f.times(c.path); n != 2 {
				t.Errorf("%s asked %d times, want 2 (the empty answer and one more)", c.path, n)
			}
			if got := h.count(`SELECT count(*) FROM close.` + c.report + ` WHERE _deleted_at IS NULL`); got != c.wantRows {
				t.Errorf("close.%s has %d rows, want %d", c.report, got, c.wantRows)
			}
			if c.wantRows == 0 {
				f.clear()
				h.sync("--report", c.report) // back to the truth for the next case
			}
		})
	}
}

// TestFailedReplaceClaimsNoRows: a full refresh that fails after reading
// some of its sources swaps nothing in, and neither the printed line nor
// sync.runs claims rows for it; a successful one counts what it swapped in.
func TestFailedReplaceClaimsNoRows(t *testing.T) {
	t.Parallel()
	f := &faults{}
	h := newHarness(t, closefake.Options{Seed: 47, Scale: 20, NonPage: f.nonPage}, "custom_fields")
	f.set("/custom_field/contact/", `{"error": "upstream timed out"}`)
	code, out, _ := h.run("sync", "--config", h.config)
	if code == 0 {
		t.Fatalf("exit 0:\n%s", out)
	}
	if !strings.Contains(out, " 0 rows written from ") || strings.Contains(out, "from 0 extracted") {
		t.Errorf("the failed replace claims rows or read none before failing:\n%s", out)
	}
	r := h.query(`SELECT status, rows_extracted, rows_upserted FROM sync.runs WHERE report = 'custom_fields' ORDER BY run_id DESC LIMIT 1`)[0]
	if r[0] != "failed" || r[1].(int64) == 0 || r[2].(int64) != 0 {
		t.Errorf("sync.runs: status %v, %v extracted, %v upserted; want failed, some, 0", r[0], r[1], r[2])
	}
	f.clear()
	out = h.sync()
	want := h.fake.Count("custom_field")
	if !strings.Contains(out, fmt.Sprintf(" %d rows written from %d extracted", want, want)) {
		t.Errorf("a replace of %d fields prints:\n%s", want, out)
	}
	if n := h.count(`SELECT rows_upserted FROM sync.runs WHERE report = 'custom_fields' ORDER BY run_id DESC LIMIT 1`); n != int64(want) {
		t.Errorf("sync.runs.rows_upserted = %d, want %d", n, want)
	}
}
