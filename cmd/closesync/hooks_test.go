package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// TestSyncNotifiesAndPublishesASnapshot runs `closesync sync` with a
// webhook and a snapshot configured: the webhook gets a success message per
// report and the created ids in batches, then only updated ids after a
// change; the snapshot is a readable copy of what was synced.
func TestSyncNotifiesAndPublishesASnapshot(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	type msg struct {
		Event string `json:"event"`
		Run   struct {
			Report, Status string
		} `json:"run"`
		Changes struct{ Created, Updated, Deleted []string } `json:"changes"`
	}
	var got []msg
	var auth []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m msg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("webhook body: %v: %s", err, b)
		}
		mu.Lock()
		got = append(got, m)
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer hook.Close()
	h := newHarness(t, closefake.Options{Seed: 23, Scale: 40}, "leads", "users", "event_log")
	snap := filepath.Join(h.dir, "snap.duckdb")
	cfg := mustRead(t, h.config) + fmt.Sprintf(`snapshot: %s
notify:
  url: %s/hook?token=s3cret
  on: [success, changes]
  headers: {Authorization: "Bearer hook-secret"}
  changes_batch: 25
`, snap, hook.URL)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.sync()
	if strings.Contains(out, "s3cret") || strings.Contains(out, "hook-secret") {
		t.Errorf("a webhook secret was printed:\n%s", out)
	}
	count := func(event, report string) (n, created, updated int) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if m.Event == event && m.Run.Report == report {
				n++
				created += len(m.Changes.Created)
				updated += len(m.Changes.Updated)
			}
		}
		return
	}
	leads := h.fake.Count("lead")
	if n, _, _ := count("run.succeeded", "leads"); n != 1 {
		t.Errorf("run.succeeded messages for leads = %d, want 1 (%v)", n, got)
	}
	if n, created, updated := count("run.changes", "leads"); n != (leads+24)/25 || created != leads || updated != 0 {
		t.Errorf("leads changes: %d messages, %d created, %d updated; want %d messages and %d created", n, created, updated, (leads+24)/25, leads)
	}
	for _, a := range auth {
		if a != "Bearer hook-secret" {
			t.Errorf("webhook Authorization header = %q", a)
		}
	}
	// The snapshot is a database of its own with the synced rows.
	db, err := sql.Open("duckdb", snap+"?access_mode=READ_ONLY")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = db.QueryRow(`SELECT count(*) FROM close.leads`).Scan(&n)
	db.Close()
	if err != nil || n != leads {
		t.Errorf("snapshot holds %d leads (%v), want %d", n, err, leads)
	}

	// One changed lead is one updated id.
	id := h.fake.IDs("lead")[0]
	if err := h.fake.Update("lead", id, map[string]any{"description": "changed"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got = nil
	mu.Unlock()
	h.sync("--report", "leads")
	if n, created, updated := count("run.changes", "leads"); n != 1 || created != 0 || updated < 1 {
		t.Errorf("after one change: %d messages, %d created, %d updated", n, created, updated)
	}

	// A deleted lead is listed, with what went with it, by the event log run.
	gone := h.fake.IDs("lead")[1]
	if err := h.fake.Delete("lead", gone); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got = nil
	mu.Unlock()
	h.sync()
	mu.Lock()
	var deleted []string
	for _, m := range got {
		if m.Event == "run.changes" && m.Run.Report == "event_log" {
			deleted = append(deleted, m.Changes.Deleted...)
		}
	}
	mu.Unlock()
	if !slices.Contains(deleted, gone) {
		t.Errorf("deleted ids %v lack the deleted lead %s", deleted, gone)
	}
}
