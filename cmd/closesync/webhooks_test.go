package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/webhook"
)

// TestWebhooksSyncWithinSeconds runs the daemon with webhooks: at start it
// subscribes the account to the changes of the objects its job syncs; a
// lead renamed in the fake is in the file within seconds, by a run with
// trigger webhook, though the job's schedule is hourly; a delivery with a
// wrong signature, or an old one, is refused (401) and starts nothing;
// at SIGTERM the subscription is removed from Close; closesync webhooks
// remove removes one a killed daemon left.
func TestWebhooksSyncWithinSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real daemon process")
	}
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 101, Scale: 20}, "leads", "event_log")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	public := "http://" + addr + "/close-webhooks"
	cfg := strings.Replace(mustRead(t, h.config), `schedule: "@hourly"`, `schedule: "@hourly"
    run_on_start: true`, 1) + fmt.Sprintf("webhooks: {listen: %q, public_url: %q, debounce: 300ms}\n", addr, public)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := startDaemon(t, "run", "--config", h.config)
	runs := func(trigger string) int {
		db, err := sql.Open("duckdb", h.db+"?access_mode=READ_ONLY")
		if err != nil {
			return -1
		}
		defer db.Close()
		var n int
		if db.QueryRow(`SELECT count(*) FROM sync.runs WHERE trigger = ? AND status = 'success' AND report = 'leads'`, trigger).Scan(&n) != nil {
			return -1
		}
		return n
	}
	waitFor(t, "the start-up run", 30*time.Second, func() bool { return runs("startup") >= 1 })
	subs := h.fake.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("the fake holds %d subscriptions, want 1: %v\n%s", len(subs), subs, out.String())
	}
	for _, u := range subs {
		if u != public+"/main" {
			t.Errorf("the subscription delivers to %s, want %s/main", u, public)
		}
	}

	// Forged and stale deliveries are refused and start nothing.
	body := []byte(`{"subscription_id":"whsub_x","event":{"id":"ev_x","object_type":"lead","action":"updated"}}`)
	for name, ts := range map[string]string{"forged": strconv.FormatInt(time.Now().Unix(), 10), "stale": strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)} {
		req, _ := http.NewRequest(http.MethodPost, public+"/main", bytes.NewReader(body))
		sig, _ := webhook.Sign(strings.Repeat("ab", 32), ts, body)
		req.Header.Set(webhook.HeaderTimestamp, ts)
		req.Header.Set(webhook.HeaderHash, sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a %s delivery: %d, want 401", name, resp.StatusCode)
		}
	}
	time.Sleep(time.Second) // past the debounce: nothing may have started
	if n := runs("webhook"); n != 0 {
		t.Fatalf("refused deliveries started %d runs", n)
	}

	id := h.query(`SELECT id FROM close.leads ORDER BY id LIMIT 1`)[0][0].(string)
	changed := time.Now()
	if err := h.fake.Update("lead", id, map[string]any{"name": "Renamed by a webhook"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the webhook run", 20*time.Second, func() bool { return runs("webhook") >= 1 })
	var name string
	waitFor(t, "the renamed lead", 10*time.Second, func() bool {
		db, err := sql.Open("duckdb", h.db+"?access_mode=READ_ONLY")
		if err != nil {
			return false
		}
		defer db.Close()
		return db.QueryRow(`SELECT name FROM close.leads WHERE id = ?`, id).Scan(&name) == nil && name == "Renamed by a webhook"
	})
	t.Logf("the change was in the file %s after it was made", time.Since(changed).Round(100*time.Millisecond))
	if sent, failed := h.fake.Deliveries(); sent == 0 || failed != 0 {
		t.Errorf("the fake delivered %d webhooks, %d of them refused", sent, failed)
	}

	stopDaemon(t, cmd, out)
	if subs := h.fake.Subscriptions(); len(subs) != 0 {
		t.Errorf("after SIGTERM the fake still holds the subscriptions %v\n%s", subs, out.String())
	}

	// One left behind (a killed daemon) goes with closesync webhooks remove.
	if _, err := webhook.Subscribe(t.Context(), closeClient(t, h), public+"/main", []string{"lead"}); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := h.run("webhooks", "remove", "--config", h.config)
	if code != 0 || !strings.Contains(stdout, "account main: removed the webhook subscription whsub_") || len(h.fake.Subscriptions()) != 0 {
		t.Errorf("webhooks remove: exit %d\n%s%s; left %v", code, stdout, stderr, h.fake.Subscriptions())
	}
}

// closeClient is a Close API client of the harness's fake.
func closeClient(t *testing.T, h *harness) *closeapi.Client {
	t.Helper()
	c, err := closeapi.New(closeapi.Config{Account: "main", BaseURL: h.srv.URL + "/api/v1", APIKey: h.key, MaxConcurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
