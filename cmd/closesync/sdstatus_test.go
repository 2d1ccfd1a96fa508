package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// notifySocket listens where NOTIFY_SOCKET will point and collects every
// datagram the daemon sends, as systemd would.
type notifySocket struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifySocket {
	t.Helper()
	ns := &notifySocket{path: filepath.Join(t.TempDir(), "notify")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: ns.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			ns.mu.Lock()
			ns.msgs = append(ns.msgs, string(buf[:n]))
			ns.mu.Unlock()
		}
	}()
	return ns
}

func (ns *notifySocket) all() []string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]string(nil), ns.msgs...)
}

// statuses are the STATUS= values sent so far, in order.
func (ns *notifySocket) statuses() []string {
	var out []string
	for _, m := range ns.all() {
		for _, l := range strings.Split(m, "\n") {
			if v, ok := strings.CutPrefix(l, "STATUS="); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func (ns *notifySocket) has(re *regexp.Regexp) bool {
	for _, s := range ns.statuses() {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// TestDaemonSDNotifyStatus runs the daemon against the fake with
// NOTIFY_SOCKET set: STATUS= says idle with the next run before READY, which
// job and report run, and after a report fails (403 on /user/) names it with
// a short error, without the key; then STOPPING with its status.
func TestDaemonSDNotifyStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real daemon process")
	}
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 5, Scale: 40, Latency: 20 * time.Millisecond, Deny: map[string]int{"/user/": 403}}, "leads", "users")
	cfg := strings.Replace(mustRead(t, h.config), "    account: main\n", "    account: main\n    run_on_start: true\n", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ns := listenNotify(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "--config", h.config)
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1", "NOTIFY_SOCKET="+ns.path)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	defer func() {
		if t.Failed() {
			t.Logf("datagrams: %q\ndaemon output:\n%s", ns.all(), out.String())
		}
	}()

	failed := regexp.MustCompile(`^idle; next run \d{4}-\d\d-\d\dT\d\d:00:00Z \(job core\); last run failed: job core, report users: .*403`)
	waitFor(t, "a status naming the failed report", 30*time.Second, func() bool { return ns.has(failed) })
	stopDaemon(t, cmd, out)

	st := ns.statuses()
	want := []*regexp.Regexp{
		regexp.MustCompile(`^idle; next run \d{4}-\d\d-\d\dT\d\d:00:00Z \(job core\)$`),
		regexp.MustCompile(`^running job core \(report leads\)$`),
		regexp.MustCompile(`^running job core \(report users\)$`),
		failed,
		regexp.MustCompile(`^stopping: cancelling runs at the next batch boundary$`),
	}
	// In this order; results arrive one report at a time, so a status may
	// repeat an earlier kind in between (idle after leads, before users').
	next := 0
	for _, v := range st {
		switch {
		case next < len(want) && want[next].MatchString(v):
			next++
		case slices.ContainsFunc(want[:next], func(re *regexp.Regexp) bool { return re.MatchString(v) }):
		default:
			t.Errorf("unexpected STATUS %q (after %d of the expected)", v, next)
		}
	}
	if next != len(want) {
		t.Errorf("STATUS values %q: missing %s and after", st, want[next])
	}
	msgs := strings.Join(ns.all(), "\n")
	for _, w := range []string{"READY=1", "STOPPING=1"} {
		if !strings.Contains(msgs, w) {
			t.Errorf("no %s sent", w)
		}
	}
	if i, j := strings.Index(msgs, "STATUS=idle"), strings.Index(msgs, "READY=1"); i < 0 || i > j {
		t.Errorf("the first status is not sent before READY=1")
	}
	if strings.Contains(msgs, closefake.DefaultAPIKey) {
		t.Errorf("the API key reached sd_notify")
	}
}
