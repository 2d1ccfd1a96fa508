package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// Reset, re-sync and backfill, end to end: the real command against the
// fake Close over loopback and a DuckDB file in a temp dir.

// setStart writes the job's start_date into the harness config ("" removes it).
func (h *harness) setStart(date string) {
	h.t.Helper()
	cfg := regexp.MustCompile(`(?m)^    start_date: .*\n`).ReplaceAllString(mustRead(h.t, h.config), "")
	if date != "" {
		cfg = strings.Replace(cfg, "    account: main\n", "    account: main\n    start_date: "+date+"\n", 1)
	}
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// fakeIn counts the fake's objects of kind whose field lies in [from, until)
// (until zero: no end).
func (h *harness) fakeIn(kind, field string, from, until time.Time) int {
	h.t.Helper()
	n := 0
	for _, o := range h.fake.Objects(kind) {
		s, _ := o[field].(string)
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			h.t.Fatalf("%s %v: %s %q: %v", kind, o["id"], field, s, err)
		}
		if !v.Before(from) && (until.IsZero() || v.Before(until)) {
			n++
		}
	}
	return n
}

func (h *harness) bookmark(report string) string {
	h.t.Helper()
	rows := h.query(`SELECT bookmark FROM sync.state WHERE report = ?`, report)
	if len(rows) == 0 {
		return ""
	}
	return rows[0][0].(string)
}

func (h *harness) live(table string) int64 {
	h.t.Helper()
	return h.count(`SELECT count(*) FROM close.` + table + ` WHERE _deleted_at IS NULL`)
}

func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// incremental are the reports whose loaded range the backfill tests check,
// with the fake's kind and the field their walk filters on.
var incremental = []struct{ report, kind, field string }{
	{"leads", "lead", "date_updated"},                // the legacy lead query
	{"contacts", "contact", "date_updated"},          // POST /data/search/
	{"opportunities", "opportunity", "date_updated"}, // date_updated__gte
	{"activities", "activity", "date_created"},       // date_created windows
}

// TestWidenedStartDateIsBackfilled is issue 9 item 2: a first sync with a
// late start_date, then an earlier one. Before the fix the stored bookmark
// won and nothing older was read; now the next sync backfills
// [new start_date, first start) as a run with trigger backfill, every
// object since the new start date is loaded, and no bookmark moved back.
func TestWidenedStartDateIsBackfilled(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	h := newHarness(t, closefake.Options{Seed: 41, Scale: 100, Now: func() time.Time { return now }},
		"leads", "contacts", "opportunities", "activities", "event_log")
	h.keepReadsOpen()
	late, early := now.AddDate(0, 0, -60).Truncate(24*time.Hour), now.AddDate(0, 0, -500).Truncate(24*time.Hour)
	h.setStart(day(late))
	h.sync()
	marks := map[string]string{}
	for _, r := range incremental {
		got, want := h.live(r.report), h.fakeIn(r.kind, r.field, late, time.Time{})
		if got != int64(want) || want == 0 || want == h.fake.Count(r.kind) {
			t.Fatalf("first sync: close.%s has %d rows, fake %d since %s of %d: the test needs a start that cuts the data",
				r.report, got, want, day(late), h.fake.Count(r.kind))
		}
		marks[r.report] = h.bookmark(r.report)
	}

	h.setStart(day(early))
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != 0 {
		t.Fatalf("sync after widening: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "Close keeps events for 30 days only") {
		t.Errorf("no warning that event_log cannot be backfilled past 30 days in:\n%s", errOut)
	}
	for _, r := range incremental {
		got, want := h.live(r.report), h.fakeIn(r.kind, r.field, early, time.Time{})
		if got != int64(want) {
			t.Errorf("after widening to %s: close.%s has %d rows, the fake has %d since then", day(early), r.report, got, want)
		}
		if b := h.bookmark(r.report); mustTime(t, b).Before(mustTime(t, marks[r.report])) {
			t.Errorf("%s: bookmark moved back from %s to %s", r.report, marks[r.report], b)
		}
		if !strings.Contains(out, "backfill: start_date is earlier than "+r.report+" was first loaded from") {
			t.Errorf("output does not say %s was backfilled:\n%s", r.report, out)
		}
		if n := strings.Count(out, "success  core/"+r.report+":"); n != 2 {
			t.Errorf("%d success lines for %s, want the run's and its backfill's, in:\n%s", n, r.report, out)
		}
		lf, _ := h.query(`SELECT loaded_from FROM sync.state WHERE report = ?`, r.report)[0][0].(time.Time)
		if !lf.Equal(early) {
			t.Errorf("%s: loaded_from %s, want the new start %s", r.report, lf, early)
		}
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'backfill' AND status = 'success'`); n != int64(len(incremental)) {
		t.Errorf("%d successful backfill runs, want one per report of %v (event_log: Close keeps 30 days, nothing to read)", n, incremental)
	}
	// The range is loaded: a third sync backfills nothing.
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'backfill'`); n != int64(len(incremental)) {
		t.Errorf("%d backfill runs after a third sync, want still %d", n, len(incremental))
	}
}

// TestSyncSinceUntilBackfillsAWindow: sync --since/--until reads a window
// older than the first sync's start date for every walk (lead query, search,
// date filters, activity windows); the bookmark never moves back; a window
// to now lets it move forward.
func TestSyncSinceUntilBackfillsAWindow(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	h := newHarness(t, closefake.Options{Seed: 43, Scale: 100, Now: func() time.Time { return now }},
		"leads", "contacts", "opportunities", "activities", "users")
	h.keepReadsOpen()
	start := now.AddDate(0, 0, -60).Truncate(24 * time.Hour)
	since, until := now.AddDate(0, 0, -400).Truncate(24*time.Hour), now.AddDate(0, 0, -200).Truncate(24*time.Hour)
	h.setStart(day(start))
	h.sync()
	marks := map[string]string{}
	for _, r := range incremental {
		marks[r.report] = h.bookmark(r.report)
	}
	args := []string{"--since", day(since), "--until", day(until)}
	for _, r := range incremental {
		args = append(args, "--report", r.report)
	}
	out := h.sync(args...)
	for _, r := range incremental {
		got := h.live(r.report)
		want := h.fakeIn(r.kind, r.field, start, time.Time{}) + h.fakeIn(r.kind, r.field, since, until)
		if r.report == "leads" {
			// The lead query compares at minute precision: the until minute is
			// read too.
			want += h.fakeIn(r.kind, r.field, until, until.Add(time.Minute))
		}
		if got != int64(want) || h.fakeIn(r.kind, r.field, since, until) == 0 {
			t.Errorf("after the window %s..%s: close.%s has %d rows, want %d (%d in the window)", day(since), day(until),
				r.report, got, want, h.fakeIn(r.kind, r.field, since, until))
		}
		if b := h.bookmark(r.report); b != marks[r.report] {
			t.Errorf("%s: a window before the bookmark moved it from %s to %s", r.report, marks[r.report], b)
		}
	}
	if n := strings.Count(out, "bookmark unchanged (never moved back)"); !strings.Contains(out, "backfill: read the window") || n != len(incremental) {
		t.Errorf("output does not tell the window and the bookmark:\n%s", out)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'backfill' AND status = 'success'`); n != int64(len(incremental)) {
		t.Errorf("%d backfill runs, want %d", n, len(incremental))
	}

	// A window to now, starting before the bookmark, reads everything since
	// and may move the bookmark forward, never back.
	h.fake.Update("lead", h.fake.IDs("lead")[0], map[string]any{"description": "changed"})
	h.sync("--since", day(until), "--report", "leads")
	if got, want := h.live("leads"), h.fakeIn("lead", "date_updated", since, time.Time{}); got != int64(want) {
		t.Errorf("after --since %s: close.leads has %d rows, the fake %d since %s", day(until), got, want, day(since))
	}
	if b := h.bookmark("leads"); !mustTime(t, b).After(mustTime(t, marks["leads"])) {
		t.Errorf("leads: a window to now after a change did not move the bookmark forward (%s, was %s)", b, marks["leads"])
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", day(since), "--report", "users"}, "report users is read whole on every run"},
		{[]string{"--until", day(until), "--report", "leads"}, "--until needs --since"},
		{[]string{"--since", day(until), "--until", day(since), "--report", "leads"}, "is not after --since"},
		{[]string{"--since", "yesterday", "--report", "leads"}, `--since "yesterday"`},
		{[]string{"--since", day(since)}, "--since needs --report R"},
		{[]string{"--since", day(since), "--full-refresh", "--report", "leads"}, "cannot be combined"},
	} {
		code, _, errOut := h.run(append([]string{"sync", "--config", h.config}, c.args...)...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("sync %v: exit %d, stderr %q; want exit 2 naming %q", c.args, code, errOut, c.want)
		}
	}
}

// TestFullRefreshRereadsFromStartDateAndReconciles: sync --full-refresh
// re-reads a report from start_date over the rows there (a row edited
// behind closesync's back is restored, none is dropped first), marks the
// rows whose objects Close deleted by a reconcile from the same listing,
// records trigger full_refresh, and never moves the bookmark back.
func TestFullRefreshRereadsFromStartDateAndReconciles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 47, Scale: 80}, "leads", "opportunities", "users")
	h.sync()
	mark := h.bookmark("leads")
	leads := h.fake.IDs("lead")
	// Behind the bookmark: an incremental run would not read these again.
	h.exec(`UPDATE close.leads SET display_name = 'stale' WHERE id = ?`, leads[3])
	if err := h.fake.Delete("lead", leads[5]); err != nil {
		t.Fatal(err)
	}
	h.sync("--report", "leads")
	if n := h.count(`SELECT count(*) FROM close.leads WHERE display_name = 'stale'`); n != 1 {
		t.Fatalf("an ordinary sync re-read the edited lead (%d stale rows): the test proves nothing", n)
	}
	before := h.fake.Requests()
	out := h.sync("--full-refresh", "--report", "leads")
	requests := h.fake.Requests() - before
	if n := h.count(`SELECT count(*) FROM close.leads WHERE display_name = 'stale'`); n != 0 {
		t.Errorf("the full refresh did not re-read the lead behind the bookmark")
	}
	if n := h.count(`SELECT count(*) FROM close.leads WHERE id = ? AND _deleted_at IS NOT NULL`, leads[5]); n != 1 {
		t.Errorf("the lead deleted in Close is not marked deleted after the full refresh")
	}
	if got, want := h.live("leads"), h.fake.Count("lead"); got != int64(want) {
		t.Errorf("close.leads: %d live rows, fake has %d", got, want)
	}
	if got := h.count(`SELECT count(*) FROM close.leads`); got != int64(len(leads)) {
		t.Errorf("close.leads: %d rows, want all %d (none dropped, the deleted one marked)", got, len(leads))
	}
	if b := h.bookmark("leads"); mustTime(t, b).Before(mustTime(t, mark)) {
		t.Errorf("bookmark moved back from %s to %s", mark, b)
	}
	for _, want := range []string{"full refresh: rows were upserted over what was there, none dropped", "marked deleted",
		"reconcile: from the full refresh's listing"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'full_refresh' AND report = 'leads' AND status = 'success'`); n != 1 {
		t.Errorf("%d full_refresh runs of leads, want 1", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'reconcile' AND report = 'leads' AND rows_deleted >= 1`); n != 1 {
		t.Errorf("%d reconcile runs of leads that marked rows, want 1", n)
	}
	t.Logf("full refresh of %d leads (reconcile included): %d requests", len(leads), requests)
}

// TestResetForgetsTheBookmark: closesync reset forgets a report's bookmark
// (a sync.runs row with trigger reset), so the next sync reads it whole
// from start_date; --drop also empties its table and child tables; unknown
// names get did-you-mean hints; a locked file is waited for, then refused.
func TestResetForgetsTheBookmark(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 53, Scale: 60}, "leads", "users")
	if code, _, errOut := h.run("reset", "--config", h.config, "--report", "leads"); code != exitFailed ||
		!strings.Contains(errOut, "nothing to reset: database") {
		t.Errorf("reset before any sync: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(h.db); err == nil {
		t.Errorf("reset created the database file")
	}
	h.sync()
	h.sync() // an incremental run: reads only the edge
	if h.bookmark("leads") == "" {
		t.Fatal("no bookmark after two syncs")
	}
	reset := func(args ...string) (int, string, string) {
		return h.run(append([]string{"reset", "--config", h.config}, args...)...)
	}
	code, out, errOut := reset("--report", "leads")
	if code != 0 || !strings.Contains(out, "reset    core/leads (account main): bookmark ") {
		t.Fatalf("reset: exit %d\n%s\n%s", code, out, errOut)
	}
	if b := h.bookmark("leads"); b != "" {
		t.Errorf("bookmark %q still stored after reset", b)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'reset' AND report = 'leads' AND status = 'success'`); n != 1 {
		t.Errorf("%d reset runs recorded, want 1", n)
	}
	h.sync("--report", "leads")
	last := `SELECT rows_extracted FROM sync.runs WHERE report = 'leads' AND trigger = 'manual' ORDER BY run_id DESC LIMIT 1`
	if got := h.count(last); got != int64(h.fake.Count("lead")) {
		t.Errorf("the sync after reset read %d leads, want all %d", got, h.fake.Count("lead"))
	}

	code, out, errOut = reset("--report", "leads", "--job", "core", "--drop")
	if code != 0 || !strings.Contains(out, "rows dropped") {
		t.Fatalf("reset --drop: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, table := range []string{"leads", "leads_contacts", "leads_addresses"} {
		if n := h.count(`SELECT count(*) FROM close.` + table); n != 0 {
			t.Errorf("close.%s: %d rows after reset --drop", table, n)
		}
	}
	if n := h.count(`SELECT count(*) FROM close.users`); n == 0 {
		t.Errorf("reset --drop of leads emptied close.users")
	}
	if n := h.count(`SELECT rows_deleted FROM sync.runs WHERE trigger = 'reset' ORDER BY run_id DESC LIMIT 1`); n == 0 {
		t.Errorf("the reset --drop run records no rows deleted")
	}
	h.sync()
	if got, want := h.live("leads"), h.fake.Count("lead"); got != int64(want) {
		t.Errorf("after reset --drop and a sync: close.leads has %d rows, fake has %d", got, want)
	}
	if got, want := h.count(`SELECT count(*) FROM close.leads_contacts`), len(h.fake.Objects("contact")); got != int64(want) {
		t.Errorf("after reset --drop and a sync: close.leads_contacts has %d rows, fake has %d contacts", got, want)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--report", "leds"}, `unknown report "leds" (did you mean "leads"?)`},
		{[]string{"--report", "leads", "--job", "cor"}, `unknown job "cor" (did you mean "core"?)`},
		{[]string{"--report", "leads_contacts"}, "report leads_contacts is written with its parent leads: reset leads"},
		{[]string{"--report", "tasks"}, "report tasks is in no job"},
		{[]string{}, "--report is required"},
	} {
		code, _, errOut := reset(c.args...)
		if code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("reset %v: exit %d, stderr %q; want exit 2 naming %q", c.args, code, errOut, c.want)
		}
	}

	// Another writer holds the file: reset waits lock_timeout, then refuses
	// and changes nothing.
	cfg := strings.Replace(mustRead(t, h.config), "log: {level: warn}\n", "log: {level: warn}\nlock_timeout: 1s\n", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	mark := h.bookmark("leads")
	release := h.holdLock()
	code, _, errOut = reset("--report", "leads")
	release()
	if code != exitFailed || !strings.Contains(errOut, "locked by another process") {
		t.Errorf("reset of a locked file: exit %d, stderr %q", code, errOut)
	}
	if b := h.bookmark("leads"); b != mark {
		t.Errorf("a refused reset changed the bookmark from %q to %q", mark, b)
	}
}

// exec runs a statement on the synced file, as another writer would.
func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	h.closeReads()
	db, err := sql.Open("duckdb", h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
}

// holdLock opens the file read-write in another process (the DuckDB
// driver of this test binary, run as a child) until release is called.
func (h *harness) holdLock() (release func()) {
	h.t.Helper()
	exe, err := os.Executable()
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestHoldLockHelper$")
	cmd.Env = append(os.Environ(), "TEST_HOLD_LOCK="+h.db)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "holding") {
		cmd.Process.Kill()
		cmd.Wait()
		h.t.Fatalf("lock holder did not start: %q %v", line, err)
	}
	return func() { cmd.Process.Kill(); cmd.Wait() }
}

// TestHoldLockHelper is the child process of holdLock; it does nothing in
// an ordinary test run.
func TestHoldLockHelper(t *testing.T) {
	path := os.Getenv("TEST_HOLD_LOCK")
	if path == "" {
		t.Skip("the child process of holdLock")
	}
	db, err := sql.Open("duckdb", path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("holding", path)
	time.Sleep(time.Minute)
}

// TestResetTargets moved to pkg/schedule (build_test.go) with ResetTargets.

// TestWidenedStartDateOnAFileFromBeforeLoadedFrom: a file synced by a
// closesync without sync.state.loaded_from (NULL after the migration), then
// widened: the loaded range is derived from the oldest row, and the
// missing range is backfilled as for a new file.
func TestWidenedStartDateOnAFileFromBeforeLoadedFrom(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	h := newHarness(t, closefake.Options{Seed: 59, Scale: 60, Now: func() time.Time { return now }}, "leads", "activities")
	late, early := now.AddDate(0, 0, -60).Truncate(24*time.Hour), now.AddDate(0, 0, -500).Truncate(24*time.Hour)
	h.setStart(day(late))
	h.sync()
	h.exec(`UPDATE sync.state SET loaded_from = NULL`)
	h.setStart(day(early))
	h.sync()
	for _, r := range []struct{ report, kind, field string }{{"leads", "lead", "date_updated"}, {"activities", "activity", "date_created"}} {
		got, want := h.live(r.report), h.fakeIn(r.kind, r.field, early, time.Time{})
		if got != int64(want) || want == h.fakeIn(r.kind, r.field, late, time.Time{}) {
			t.Errorf("close.%s: %d rows after widening an old file, the fake has %d since %s", r.report, got, want, day(early))
		}
	}
}
