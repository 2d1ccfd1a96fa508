package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// streamFile is a file standing in for journald's stream: stderr, and the
// JOURNAL_STREAM value (device:inode) that systemd would set for it.
func streamFile(t *testing.T) (*os.File, string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return f, fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// TestJournalPriorities: on journald's stream every line of every entry
// starts with its level's syslog priority (sd-daemon's <N> prefixes);
// elsewhere, and when JOURNAL_STREAM names another file, lines are as
// before.
func TestJournalPriorities(t *testing.T) {
	for _, c := range []struct {
		name, format string
		stream       func(own string) string
		want         map[string]string // message -> prefix
	}{
		{"json on the journal", "json", func(own string) string { return own },
			map[string]string{"a debug line": "<7>{", "an info line": "<6>{", "a warn line": "<4>{", "an error line": "<3>{"}},
		{"console on the journal", "console", func(own string) string { return own },
			map[string]string{"a debug line": "<7>", "an info line": "<6>", "a warn line": "<4>", "an error line": "<3>"}},
		{"JOURNAL_STREAM of another file", "json", func(string) string { return "1:2" },
			map[string]string{"a debug line": "{", "an info line": "{", "a warn line": "{", "an error line": "{"}},
		{"no JOURNAL_STREAM", "json", func(string) string { return "" },
			map[string]string{"a debug line": "{", "an info line": "{", "a warn line": "{", "an error line": "{"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, own := streamFile(t)
			js := c.stream(own)
			e := &env{stdout: os.Stdout, stderr: f, getenv: func(k string) string {
				if k == "JOURNAL_STREAM" {
					return js
				}
				return ""
			}}
			log, err := newLogger("debug", c.format, e)
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("a debug line")
			log.Info("an info line")
			log.Warn("a warn line")
			log.Error("an error line\nwith a second line")
			log.Sync()
			body, err := os.ReadFile(f.Name())
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
			found := 0
			for i, l := range lines {
				for msg, prefix := range c.want {
					if !strings.Contains(l, msg) {
						continue
					}
					found++
					if !strings.HasPrefix(l, prefix) || strings.HasPrefix(l, prefix+"<") {
						t.Errorf("line %q: want prefix %q", l, prefix)
					}
					// console prints the message's second line on its own
					if c.format == "console" && msg == "an error line" && (i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "<3>with a second line")) {
						t.Errorf("the error's second line lacks <3>:\n%s", body)
					}
				}
			}
			if found != len(c.want) {
				t.Errorf("found %d of %d entries:\n%s", found, len(c.want), body)
			}
		})
	}
}

// TestJournalBadConfigIsAnError runs the real process as systemd would,
// stderr on the "journal", with a bad config: it exits 2 (which the unit
// does not restart) and every line of the error is at error priority.
func TestJournalBadConfigIsAnError(t *testing.T) {
	f, own := streamFile(t)
	cfg := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(cfg, []byte("database: x.duckdb\nlog: {level: loud}\naccounts: []\njobs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "run", "--config", cfg)
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1", "JOURNAL_STREAM="+own)
	cmd.Stderr = f
	err = cmd.Run()
	if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
		t.Fatalf("exit: %v, want %d", err, exitUsage)
	}
	body := mustRead(t, f.Name())
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("want a multi-line error, got:\n%s", body)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "<3>") {
			t.Errorf("line without <3>: %q", l)
		}
	}
	if !strings.Contains(body, "<3>closesync run: "+cfg) {
		t.Errorf("error does not name the config:\n%s", body)
	}
}
