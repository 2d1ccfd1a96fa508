package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// exportHarness is a harness whose account reads first syncs of leads and
// opportunities above `above` records through the Export API (0: never),
// with the job's start_date set.
func exportHarness(t *testing.T, opts closefake.Options, above int, startDate string) *harness {
	t.Helper()
	h := newHarness(t, opts, "leads", "opportunities")
	b, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	if above > 0 {
		cfg = strings.Replace(cfg, "    base_url:", fmt.Sprintf("    export_above: %d\n    base_url:", above), 1)
	}
	if startDate != "" {
		cfg = strings.Replace(cfg, "    schedule:", fmt.Sprintf("    start_date: %s\n    schedule:", startDate), 1)
	}
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// exportTables are the tables of leads and opportunities.
var exportTables = []string{"leads", "leads_addresses", "leads_contacts", "leads_opportunities", "leads_tasks", "opportunities"}

// tableRows is every row of a table but _synced_at and _run_id, as text,
// in a fixed order.
func (h *harness) tableRows(table string) []string {
	h.t.Helper()
	rows := h.query(fmt.Sprintf(`SELECT * EXCLUDE (_synced_at, _run_id) FROM close.%s ORDER BY ALL`, table))
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r...)
	}
	return out
}

// tableDigests is, for each table, its row count and a hash of its rows
// but _synced_at and _run_id, computed by DuckDB on one open of the file:
// comparing the rows in Go costs many times more (and far more under
// -race). tableRows says where two tables differ.
func (h *harness) tableDigests(tables ...string) map[string]digest {
	h.t.Helper()
	out := map[string]digest{}
	h.reading(func(db *sql.DB) {
		for _, table := range tables {
			r := h.queryOn(db, fmt.Sprintf(`SELECT count(*), coalesce(sum(hash(t))::VARCHAR, '')
				FROM (SELECT * EXCLUDE (_synced_at, _run_id) FROM close.%s) t`, table))[0]
			out[table] = digest{rows: r[0].(int64), hash: r[1].(string)}
		}
	})
	return out
}

// digest is a table's row count and the sum of its rows' hashes.
type digest struct {
	rows int64
	hash string
}

// firstDifference is where two tables' rows (tableRows) first differ.
func firstDifference(p, e []string) string {
	if len(p) != len(e) {
		return fmt.Sprintf("%d rows, %d rows", len(p), len(e))
	}
	for i := range p {
		if p[i] != e[i] {
			at := 0
			for at < min(len(p[i]), len(e[i])) && p[i][at] == e[i][at] {
				at++
			}
			from := max(0, at-80)
			return fmt.Sprintf("row %d differs at byte %d:\n  …%.300s\n  …%.300s", i, at, p[i][from:], e[i][from:])
		}
	}
	return "the same rows, different hashes"
}

// runRequests is the requests column of the report's latest sync.runs row.
func (h *harness) runRequests(report string) int64 {
	h.t.Helper()
	return h.count(`SELECT requests FROM sync.runs WHERE report = ? ORDER BY run_id DESC LIMIT 1`, report)
}

// TestExportFirstSyncEqualsPaged: two fakes with the same truth, one first
// synced page by page and one through the Export API (whose file has
// custom fields by name and the original date format), give identical
// tables in every column but _synced_at and _run_id, with a start_date
// applied at each filter's precision; the export reads leads in a fixed
// handful of requests instead of one per page. The next run continues
// incrementally from the export's start and sees a change made after it.
func TestExportFirstSyncEqualsPaged(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	opts := closefake.Options{Seed: 11, Scale: 800, Now: func() time.Time { return now }}
	start := now.AddDate(-1, 0, 0).Format("2006-01-02")
	paged := exportHarness(t, opts, 0, start)
	exported := exportHarness(t, opts, 100, start)
	paged.sync()
	exported.sync()

	pagedDigests, exportedDigests := paged.tableDigests(exportTables...), exported.tableDigests(exportTables...)
	for _, table := range exportTables {
		p, e := pagedDigests[table], exportedDigests[table]
		if p.rows == 0 && table != "leads_addresses" {
			t.Errorf("%s: no rows: the comparison proves nothing", table)
		}
		if p != e {
			t.Errorf("%s: paged and exported differ: %s", table, firstDifference(paged.tableRows(table), exported.tableRows(table)))
		}
	}
	leads := paged.count(`SELECT count(*) FROM close.leads`)
	if leads >= int64(opts.Scale) || leads == 0 {
		t.Errorf("start_date kept %d of %d leads: the filter is not exercised", leads, opts.Scale)
	}
	// Leads: the count probe, 4 custom field listings, the POST, 3 polls
	// and the download; paged: one request per 200 leads and the probe.
	pagedLeads, exportLeads := paged.runRequests("leads"), exported.runRequests("leads")
	if exportLeads != 10 {
		t.Errorf("leads through the export took %d requests, want 10", exportLeads)
	}
	// The export's requests do not grow with the organisation; the paged
	// walk's do, a page per 200 leads: it must have walked several pages
	// for the comparison to prove anything.
	if pages := (leads + 199) / 200; pages < 2 || pagedLeads < pages {
		t.Errorf("paged leads took %d requests for %d leads (%d pages): the comparison proves nothing", pagedLeads, leads, pages)
	}
	t.Logf("requests: leads %d paged, %d by export; opportunities %d paged, %d by export",
		pagedLeads, exportLeads, paged.runRequests("opportunities"), exported.runRequests("opportunities"))

	// The next run is incremental: a few pages, and it sees a change.
	id := exported.fake.IDs(closefake.KindLead)[0]
	now = now.Add(time.Minute)
	if err := exported.fake.Update(closefake.KindLead, id, map[string]any{"description": "after the export"}); err != nil {
		t.Fatal(err)
	}
	exported.sync()
	if got := exported.count(`SELECT count(*) FROM close.leads WHERE id = ? AND description = 'after the export'`, id); got != 1 {
		t.Errorf("the run after the export did not read the lead changed since")
	}
	if n := exported.runRequests("leads"); n > 3 {
		t.Errorf("the run after the export took %d requests: not incremental", n)
	}
	if n := exported.count(`SELECT count(*) FROM sync.runs WHERE report = 'leads' AND status = 'success'`); n != 2 {
		t.Errorf("%d successful leads runs, want 2", n)
	}
}

// TestExportFailuresFailTheRun: an export that ends in status error, a
// download cut off halfway, one that is not gzip and one that is not JSON
// each fail the full refresh with an error naming the problem and a failed
// sync.runs row, and nothing the first sync loaded is lost or moved.
func TestExportFailuresFailTheRun(t *testing.T) {
	t.Parallel()
	h := exportHarness(t, closefake.Options{Seed: 12, Scale: 400, ExportPolls: 2}, 100, "")
	h.sync()
	before := h.tableDigests(exportTables...)
	bookmark := h.query(`SELECT bookmark FROM sync.state WHERE report = 'leads'`)
	cases := []struct {
		fault closefake.ExportFault
		want  string
	}{
		{closefake.ExportFails, "ended in status error"},
		{closefake.ExportTruncated, "truncated"},
		{closefake.ExportNotGzip, "not gzip-compressed"},
		{closefake.ExportNotJSON, "not a JSON array"},
	}
	for _, c := range cases {
		h.fake.SetExportFault(c.fault)
		code, out, errOut := h.run("sync", "--config", h.config, "--full-refresh", "--report", "leads")
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s%s", c.fault, code, out, errOut)
		}
		status, msg := h.lastRun("leads")
		if status != "failed" || !strings.Contains(msg, c.want) || !strings.Contains(msg, "export") {
			t.Errorf("%s: run %s %q, want failed naming %q", c.fault, status, msg, c.want)
		}
		if strings.Contains(msg, "signature=") {
			t.Errorf("%s: the error shows the download link's signature: %s", c.fault, msg)
		}
	}
	for table, after := range h.tableDigests(exportTables...) {
		if after != before[table] {
			t.Errorf("%s changed by failed exports: %d rows -> %d (hash %s -> %s)", table, before[table].rows, after.rows, before[table].hash, after.hash)
		}
	}
	if got := h.query(`SELECT bookmark FROM sync.state WHERE report = 'leads'`); fmt.Sprint(got) != fmt.Sprint(bookmark) {
		t.Errorf("bookmark moved: %v -> %v", bookmark, got)
	}
}

// TestDryRunNamesTheExport: a dry run of a first sync above export_above
// says the export would be used, and one below it does not.
func TestDryRunNamesTheExport(t *testing.T) {
	t.Parallel()
	h := exportHarness(t, closefake.Options{Seed: 13, Scale: 300}, 250, "")
	dry := func() string {
		code, out, errOut := h.run("sync", "--config", h.config, "--dry-run")
		if code != 0 {
			t.Fatalf("dry run exit %d\n%s%s", code, out, errOut)
		}
		return out
	}
	out := dry()
	for _, want := range []string{"via /export/lead/", "via /export/opportunity/"} {
		if !strings.Contains(out, want) {
			t.Errorf("300 leads and their opportunities above export_above 250: no %q in\n%s", want, out)
		}
	}
	b, err := os.ReadFile(h.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.config, []byte(strings.Replace(string(b), "export_above: 250", "export_above: 100000", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := dry(); strings.Contains(out, "export") {
		t.Errorf("below export_above, the dry run names an export:\n%s", out)
	}
}

// TestKillNineMidExport kills `closesync sync --full-refresh` with SIGKILL
// at seeded random instants while it reads leads through an export
// (started, polled, downloading, loading), with the data changing between
// trials; a normal sync afterwards leaves exactly the fake's leads, each
// once and current: a crash mid-export loses and doubles nothing, and
// commits no bookmark that would skip what the export had not yet loaded.
func TestKillNineMidExport(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	t.Parallel()
	const trials = 6
	h := exportHarness(t, closefake.Options{Seed: 22, Scale: 600, Latency: 2 * time.Millisecond}, 100, "")
	rng := rand.New(rand.NewPCG(22, 22))
	killer := &killer{rng: rng, fake: h.fake, span: 2500 * time.Millisecond}
	killed := 0
	for trial := range trials {
		ids := h.fake.IDs(closefake.KindLead)
		if err := h.fake.Update(closefake.KindLead, ids[rng.IntN(len(ids))], map[string]any{"name": fmt.Sprintf("Trial %d", trial)}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.fake.Create(closefake.KindLead, map[string]any{"name": fmt.Sprintf("New %d", trial)}); err != nil {
			t.Fatal(err)
		}
		args := []string{"sync", "--config", h.config, "--full-refresh", "--report", "leads"}
		if trial == 0 {
			args = args[:3] // a first sync: the export of both reports
		}
		if killer.run(t, args...) {
			killed++
		}
	}
	if killed < trials/2 {
		t.Fatalf("only %d of %d trials were killed mid-run", killed, trials)
	}
	h.sync()
	want := map[string]string{}
	for _, l := range h.fake.Objects(closefake.KindLead) {
		want[l["id"].(string)] = fmt.Sprint(l["name"])
	}
	rows := h.query(`SELECT id, name FROM close.leads WHERE _deleted_at IS NULL`)
	if len(rows) != len(want) {
		t.Errorf("%d leads, the fake has %d", len(rows), len(want))
	}
	for _, r := range rows {
		if w, ok := want[r[0].(string)]; !ok || w != fmt.Sprint(r[1]) {
			t.Errorf("lead %v: name %v, the fake has %q (known %v)", r[0], r[1], w, ok)
		}
	}
	if dup := h.count(`SELECT count(*) - count(DISTINCT id) FROM close.leads`); dup != 0 {
		t.Errorf("%d duplicate lead ids", dup)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	t.Logf("%d of %d trials killed mid-export", killed, trials)
}
