package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/closesync/closesync/internal/closefake"
)

// progressReports are the reports of the progress tests: leads and
// opportunities are counted by Close (total_results), contacts are not.
var progressReports = []string{"leads", "opportunities", "contacts", "users"}

// paced sits in front of the fake: every answer takes 30 ms, and a
// listing's later pages of leads 400 ms, so that a sync of a small
// organisation runs long enough for the bars to be drawn with a total.
func paced(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := 30 * time.Millisecond
		if r.URL.Path == "/api/v1/lead/" && r.URL.Query().Get("_skip") != "" {
			d = 400 * time.Millisecond
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		next.ServeHTTP(w, r)
	})
}

// newProgressHarness is a harness whose fake answers through wrap.
func newProgressHarness(t *testing.T, opts closefake.Options, wrap func(http.Handler) http.Handler, reports ...string) *harness {
	t.Helper()
	h := &harness{t: t, fake: closefake.New(opts), dir: t.TempDir(), key: closefake.DefaultAPIKey}
	h.srv = httptest.NewServer(wrap(h.fake))
	t.Cleanup(h.srv.Close)
	h.db = filepath.Join(h.dir, "crm.duckdb")
	h.config = h.writeConfig(h.key, reports)
	return h
}

// mainCommand is the test binary run as closesync with args.
func mainCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1", "TERM=xterm-256color")
	return cmd
}

// onTerminal runs cmd on a pseudo-terminal of 120 columns and returns its
// exit code and everything it wrote there.
func onTerminal(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, tty) // ends with EIO once the process has exited
		close(copied)
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output never ended")
	}
	return exitCode(t, err), out.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		t.Fatal(err)
		return -1
	}
}

var (
	// barLine is a running report's line: name, bar and counts.
	barLine = regexp.MustCompile(`core/leads +\[[=>\-]+\] [0-9,]+/[0-9,]+ records · [0-9,]+/s · [0-9,]+ pages?`)
	// countsLine is a report's line without a count from Close.
	countsLine = regexp.MustCompile(`core/\w+ +[0-9,]+ records · `)
	// resultLine is one report's result.
	resultLine = regexp.MustCompile(`^success  core/(\w+): \d+ rows? written from \d+ extracted, \d+ requests?, [0-9.]+m?s$`)
)

// TestBarsOnATerminalOneLinePerReportInAPipe: on a terminal a sync draws
// a line per running report (a bar with Close's count for leads) and
// prints each result; through a pipe it prints one line per report and
// nothing else.
func TestBarsOnATerminalOneLinePerReportInAPipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary on a terminal")
	}
	t.Parallel()
	h := newProgressHarness(t, closefake.Options{Seed: 71, Scale: 250}, paced, progressReports...)
	code, screen := onTerminal(t, mainCommand(t, "sync", "--config", h.config))
	if code != 0 {
		t.Fatalf("exit %d on a terminal:\n%s", code, screen)
	}
	if !barLine.MatchString(screen) || !countsLine.MatchString(screen) || !strings.Contains(screen, "\x1b[") {
		t.Errorf("no bars on the terminal:\n%q", screen)
	}
	for _, rep := range progressReports {
		if !strings.Contains(screen, "success  core/"+rep+": ") {
			t.Errorf("no result line for %s on the terminal:\n%q", rep, screen)
		}
	}

	h.db = filepath.Join(h.dir, "piped.duckdb") // a first sync again
	h.config = h.writeConfig(h.key, progressReports)
	cmd := mainCommand(t, "sync", "--config", h.config)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d in a pipe:\n%s\n%s", code, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	seen := map[string]bool{}
	for _, line := range lines {
		m := resultLine.FindStringSubmatch(line)
		if m == nil || seen[m[1]] {
			t.Errorf("in a pipe, stdout line %q is not one report's result", line)
			continue
		}
		seen[m[1]] = true
	}
	if len(seen) != len(progressReports) || strings.Contains(stdout.String(), "\x1b") || strings.Contains(stdout.String(), " records · ") {
		t.Errorf("in a pipe, want exactly one plain line per report:\n%s", stdout.String())
	}
}

// TestTerminalSaysWhoHoldsTheLock: while another closesync holds the
// file, the terminal shows the wait and the holder's PID.
func TestTerminalSaysWhoHoldsTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary on a terminal")
	}
	t.Parallel()
	started := make(chan struct{}, 1)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	h := &harness{t: t, dir: t.TempDir(), key: closefake.DefaultAPIKey, srv: hung}
	h.db = filepath.Join(h.dir, "crm.duckdb")
	h.config = h.writeConfig(h.key, []string{"users"})
	cfg := strings.Replace(mustRead(t, h.config), "log: {level: warn}", "lock_timeout: 1500ms\nlog: {level: error}", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	holder, _ := startDaemon(t, "sync", "--config", h.config)
	select {
	case <-started: // it has the file open and waits on its first request
	case <-time.After(30 * time.Second):
		t.Fatal("the holder never sent a request")
	}
	code, screen := onTerminal(t, mainCommand(t, "sync", "--config", h.config))
	holder.Process.Kill()
	want := regexp.MustCompile(fmt.Sprintf(`database +waiting for the file lock held by PID %d: `, holder.Process.Pid))
	if code != exitFailed || !want.MatchString(screen) || !strings.Contains(screen, "of lock_timeout 1.5s (attempt ") {
		t.Errorf("exit %d; want %d and the line %s on the terminal:\n%q", code, exitFailed, want, screen)
	}
}

// TestInterruptExits130AndSaysOnceWhatWasCancelled: each result is
// printed as its report ends, while another still runs; Ctrl-C then
// cancels the rest cleanly, prints one line naming the reports
// cancelled (not a "context canceled" per report) and exits 130.
func TestInterruptExits130AndSaysOnceWhatWasCancelled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	t.Parallel()
	held := make(chan struct{}, 1)
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v1/status/opportunity/" {
				select {
				case held <- struct{}{}:
				default:
				}
				<-r.Context().Done()
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newProgressHarness(t, closefake.Options{Seed: 73, Scale: 20}, hold, "users", "lead_statuses", "opportunity_statuses", "pipelines")
	// One report at a time: pipelines waits for its turn behind
	// opportunity_statuses (none has a weight, so the job's order is the
	// start order).
	cfg := strings.Replace(mustRead(t, h.config), "    base_url:", "    max_concurrency: 1\n    base_url:", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := mainCommand(t, "sync", "--config", h.config)
	out := &syncBuffer{}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	select {
	case <-held:
	case <-time.After(30 * time.Second):
		t.Fatalf("opportunity_statuses never asked for its page\n%s", out.String())
	}
	// The reports before opportunity_statuses have printed their results already.
	waitFor(t, "the results of the reports that ended", 10*time.Second, func() bool {
		return strings.Contains(out.String(), "success  core/users: ") && strings.Contains(out.String(), "success  core/lead_statuses: ")
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code := exitCode(t, cmd.Wait())
	stdout := out.String()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := "cancelled core/opportunity_statuses, core/pipelines: interrupt signal received"
	if code != 130 || len(lines) != 3 || lines[2] != want {
		t.Fatalf("exit %d, want 130 and the results then %q:\n%s\nstderr:\n%s", code, want, stdout, stderr.String())
	}
	if strings.Contains(stdout+stderr.String(), "context canceled") {
		t.Errorf("a report said context canceled:\n%s\n%s", stdout, stderr.String())
	}
	rows := h.query(`SELECT report, status FROM sync.runs ORDER BY run_id`)
	if fmt.Sprint(rows) != "[[users success] [lead_statuses success] [opportunity_statuses cancelled]]" {
		t.Errorf("sync.runs: %v, want users and lead_statuses done and opportunity_statuses cancelled (pipelines never began)", rows)
	}
}
