package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
)

// fsizeEnv makes a re-run of this binary as closesync (TEST_CLOSESYNC_AS_MAIN)
// a process whose files cannot grow past the given size, as on a full disk:
// RLIMIT_FSIZE with SIGXFSZ ignored, so a write past it fails with EFBIG
// instead of killing the process. No root is needed.
const fsizeEnv = "TEST_CLOSESYNC_FSIZE"

func init() {
	v := os.Getenv(fsizeEnv)
	if v == "" || os.Getenv("TEST_CLOSESYNC_AS_MAIN") != "1" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		panic(fsizeEnv + ": " + err.Error())
	}
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		panic("setrlimit: " + err.Error())
	}
}

// TestFailedFinalCheckpointFailsTheSync runs a real `closesync sync` whose
// database file cannot grow (the disk is full): every report's rows fit in
// the write-ahead log, but the final checkpoint cannot write them into the
// file. The sync must exit 1 saying so, the history must say so, and the
// next open must replay the log: nothing is lost, and the next sync with
// room succeeds.
func TestFailedFinalCheckpointFailsTheSync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 31, Scale: 40}, coreReports...)
	h.sync()
	st, err := os.Stat(h.db)
	if err != nil {
		t.Fatal(err)
	}
	// New versions of many leads: the second sync writes them to the log
	// and its checkpoint needs new blocks past the file's current size.
	ids := h.fake.IDs("lead")
	for i, id := range ids[:30] {
		if err := h.fake.Update("lead", id, map[string]any{"name": fmt.Sprintf("Full disk %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "sync", "--config", h.config)
	// The limit holds every file of the process, DuckDB's spill file too;
	// a pool that needs no spill keeps the test about the database file
	// (a batch's new versions are appended blocks, which spilled past the
	// limit at the default memory_limit).
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1", fmt.Sprintf("%s=%d", fsizeEnv, st.Size()),
		"CLOSESYNC_DUCKDB__MEMORY_LIMIT=1GB")
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != exitFailed {
		t.Fatalf("sync onto a full disk: exit %d, want %d\n%s", code, exitFailed, out)
	}
	if !strings.Contains(out, "closing "+h.db) || !strings.Contains(out, "checkpoint") {
		t.Errorf("the output does not say that closing the database failed:\n%s", out)
	}
	if _, err := os.Stat(h.db + ".wal"); err != nil {
		t.Fatalf("no write-ahead log left after the failed checkpoint: %v\n%s", err, out)
	}
	t.Logf("full-disk sync (file limited to %d bytes):\n%s", st.Size(), out)

	// The next open replays the log: the new versions are there, and the
	// runs of the failed sync say what happened.
	if n := h.count(`SELECT count(*) FROM close.leads WHERE name LIKE 'Full disk %'`); n != 30 {
		t.Errorf("after the log's replay %d of 30 updated leads are in the file", n)
	}
	last := h.count(`SELECT max(run_id) FROM sync.runs`)
	second := h.query(`SELECT report, status, error FROM sync.runs WHERE run_id > ? ORDER BY run_id`, last-int64(len(coreReports)))
	for _, r := range second {
		if r[1] != string(runlog.Failed) || !strings.HasPrefix(fmt.Sprint(r[2]), load.CheckpointPending) {
			t.Errorf("run of %v after a failed checkpoint: status %v, error %v; want failed, %q", r[0], r[1], r[2], load.CheckpointPending)
		}
	}
	if len(second) != len(coreReports) {
		t.Errorf("%d runs of the failed sync in the history, want %d", len(second), len(coreReports))
	}
	out = h.sync()
	h.checkTruth()
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE run_id > ? AND status <> 'success'`, last); n != 0 {
		t.Errorf("%d runs of the sync with room did not succeed:\n%s", n, out)
	}
}
