package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestDeadKeyStopsTheAccountAtOnce: with a key Close rejects, the first
// report's 401 stops the account's other reports: a handful of requests in
// all instead of one (or more) per report, one clear error, and run rows
// that say why each report was skipped.
func TestDeadKeyStopsTheAccountAtOnce(t *testing.T) {
	h := newHarness(t, closefake.Options{Seed: 3, Scale: 20}, coreReports...)
	h.config = h.writeConfig("api_revokedKeyThatCloseRejects", coreReports)
	code, out, errOut := h.run("sync", "--config", h.config)
	if code != exitFailed {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, exitFailed, out, errOut)
	}
	if n := h.fake.Requests(); n > 2 {
		t.Errorf("%d requests with a rejected key, want at most 2", n)
	}
	if strings.Contains(out+errOut, "api_revokedKeyThatCloseRejects") {
		t.Errorf("the key is in the output")
	}
	first := coreReports[0]
	want := fmt.Sprintf("skipped: the API key of account main was rejected (401) by report %s", first)
	rows := h.query(`SELECT report, status, error FROM sync.runs ORDER BY run_id`)
	if len(rows) != len(coreReports) {
		t.Fatalf("%d run rows, want %d: %v", len(rows), len(coreReports), rows)
	}
	if rows[0][0] != first || rows[0][1] != "failed" || !strings.Contains(fmt.Sprint(rows[0][2]), "API key rejected by Close for account main (401") {
		t.Errorf("first run row %v", rows[0])
	}
	for _, r := range rows[1:] {
		if r[1] != "failed" || r[2] != want {
			t.Errorf("run row of %v: %v, %q; want failed, %q", r[0], r[1], r[2], want)
		}
	}
	if n := strings.Count(out, want); n != len(coreReports)-1 {
		t.Errorf("%d skipped lines in the output, want %d:\n%s", n, len(coreReports)-1, out)
	}
}
