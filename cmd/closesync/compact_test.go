package main

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
)

// fragment leaves many free blocks in the middle of the synced file, as
// the checkpoints of a large first sync do: the junk's blocks stay in the
// file because later ones follow them (DuckDB cuts free blocks off the end).
func (h *harness) fragment() {
	h.t.Helper()
	h.exec(`CREATE SCHEMA IF NOT EXISTS scratch;
		CREATE OR REPLACE TABLE scratch.junk AS SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) || md5((i + 2)::VARCHAR) AS s FROM range(300000) t(i);
		CHECKPOINT;
		CREATE OR REPLACE TABLE scratch.later AS SELECT md5(i::VARCHAR) AS s FROM range(50000) t(i);
		CHECKPOINT;
		DROP TABLE scratch.junk;
		CHECKPOINT`)
}

func (h *harness) size() int64 {
	h.t.Helper()
	st, err := os.Stat(h.db)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Size()
}

// bookmarkTexts are every stored bookmark as stored, by report.
func (h *harness) bookmarkTexts() map[string]string {
	out := map[string]string{}
	for _, r := range h.query(`SELECT report, bookmark FROM sync.state`) {
		out[r[0].(string)] = r[1].(string)
	}
	return out
}

// TestCompactKeepsTheSyncIncremental: a run closing a mostly free file
// compacts it, at most once a day; closesync compact shrinks a fragmented
// file and keeps every row and bookmark, the next sync is incremental and
// equals the fake's truth; the command's usage errors and a locked file.
func TestCompactKeepsTheSyncIncremental(t *testing.T) {
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 71, Scale: 40}, coreReports...)
	compact := func(args ...string) (int, string, string) {
		return h.run(append([]string{"compact", "--config", h.config}, args...)...)
	}
	if code, _, errOut := compact(); code != exitFailed || !strings.Contains(errOut, "nothing to compact: database") {
		t.Errorf("compact before any sync: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(h.db); err == nil {
		t.Errorf("compact created the database file")
	}
	h.sync()

	// A run that closes a mostly free file compacts it.
	cfg := mustRead(t, h.config) + "duckdb:\n  compact_free_ratio: 0.3\n  compact_min_size: 1MB\n"
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.fragment()
	before := h.size()
	h.sync()
	if after := h.size(); after > before*3/4 {
		t.Errorf("the sync's close left %d bytes of %d", after, before)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'compact' AND status = 'success' AND report = 'database'`); n != 1 {
		t.Errorf("%d compaction runs recorded after a sync closed a fragmented file, want 1", n)
	}
	h.checkTruth()
	// Within a day of it, a run does not compact again (the runs after a
	// compaction grow the file again by the row groups they rewrite).
	h.fragment()
	h.sync()
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'compact'`); n != 1 {
		t.Errorf("a sync compacted again within the minimum interval: %d compaction runs", n)
	}

	// closesync compact does it on demand.
	h.fragment()
	before, marks := h.size(), h.bookmarkTexts()
	code, out, errOut := compact()
	if code != 0 || !regexp.MustCompile(`^compact +\S+crm.duckdb: [0-9.]+ MB -> [0-9.]+ MB \([0-9]+% of it was free\), `).MatchString(out) {
		t.Fatalf("compact: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := h.size(); after > before*3/4 {
		t.Errorf("compact left %d bytes of %d", after, before)
	}
	if _, err := os.Stat(h.db + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the copy is left behind: %v", err)
	}
	h.checkTruth()
	if got := h.bookmarkTexts(); len(got) == 0 || !equalMaps(got, marks) {
		t.Errorf("bookmarks after compact %v, before %v", got, marks)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'compact' AND status = 'success' AND report = 'database'`); n != 2 {
		t.Errorf("%d compaction runs recorded, want 2", n)
	}

	// The next sync is incremental: it reads the changes, not the org.
	ids := h.fake.IDs("lead")
	h.fake.Update("lead", ids[0], map[string]any{"name": "After compaction"})
	if _, err := h.fake.Create("lead", map[string]any{"name": "New after compaction"}); err != nil {
		t.Fatal(err)
	}
	h.sync()
	h.checkTruth()
	last := `SELECT rows_extracted FROM sync.runs WHERE report = 'leads' AND trigger = 'manual' ORDER BY run_id DESC LIMIT 1`
	if got := h.count(last); got == 0 || got >= int64(h.fake.Count("lead")) {
		t.Errorf("the sync after compact read %d leads of %d: not incremental", got, h.fake.Count("lead"))
	}
	if n := h.count(`SELECT count(*) FROM close.leads WHERE name = 'After compaction'`); n != 1 {
		t.Errorf("the edit after compaction is not synced")
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compact"}, "--config is required"},
		{[]string{"compact", "--config", h.config, "now"}, `unexpected argument "now"`},
		{[]string{"compact", "--config", h.config, "--force"}, "unknown flag --force"},
	} {
		if code, _, errOut := h.run(c.args...); code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming %q", c.args, code, errOut, c.want)
		}
	}

	// Another process holds the file: compact waits lock_timeout, then
	// refuses, naming it, and changes nothing.
	cfg = strings.Replace(mustRead(t, h.config), "log: {level: warn}\n", "log: {level: warn}\nlock_timeout: 1s\n", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	h.fragment()
	before = h.size()
	release := h.holdLock()
	code, _, errOut = compact()
	release()
	if code != exitFailed || !strings.Contains(errOut, "locked by another process") || !strings.Contains(errOut, "PID") {
		t.Errorf("compact of a locked file: exit %d, stderr %q", code, errOut)
	}
	if h.size() != before {
		t.Errorf("a refused compact changed the file")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestKillNineDuringCompaction kills `closesync compact` with SIGKILL at
// seeded random instants while it copies and renames; after every kill the
// file under the database's name opens and holds every row (the original
// or the compacted file, never neither), and a sync then converges.
func TestKillNineDuringCompaction(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	t.Parallel()
	const trials = 6
	h := newHarness(t, closefake.Options{Seed: 73, Scale: 40}, coreReports...)
	h.sync()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// compact runs closesync compact and kills it after the copy has
	// existed for kill (never, if negative); it returns how long the copy
	// existed and how long the process ran after the copy was renamed.
	compact := func(kill time.Duration) (copying, renamed time.Duration, killed bool) {
		cmd := exec.Command(exe, "compact", "--config", h.config)
		cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		poll := time.NewTicker(time.Millisecond)
		defer poll.Stop()
		// A copy a killed compaction left is not this one's (compact
		// removes it first).
		stale, _ := os.Stat(h.db + ".compact")
		var appeared, gone time.Time
		var deadline <-chan time.Time
		for {
			select {
			case <-done:
				if gone.IsZero() {
					gone = time.Now()
				}
				return gone.Sub(appeared), time.Since(gone), false
			case <-poll.C:
				fi, err := os.Stat(h.db + ".compact")
				if err == nil && stale != nil && os.SameFile(fi, stale) {
					continue
				}
				stale = nil
				switch {
				case err == nil && appeared.IsZero():
					appeared = time.Now()
					if kill >= 0 {
						deadline = time.After(kill)
					}
				case err != nil && !appeared.IsZero() && gone.IsZero():
					gone = time.Now()
				}
			case <-deadline:
				cmd.Process.Kill()
				<-done
				return 0, 0, true
			}
		}
	}
	// A compaction left to finish measures this machine's copy, so that
	// the kills fall inside it however fast or loaded the machine is.
	copying, renamed, _ := compact(-1)
	if copying <= 0 {
		t.Fatal("closesync compact never wrote its copy beside the file")
	}
	rng := rand.New(rand.NewPCG(73, 73))
	var midCopy, afterRename, killed int
	for trial := range trials {
		orig, err := os.Stat(h.db)
		if err != nil {
			t.Fatal(err)
		}
		// Half the kills aim inside the copy, half after its rename.
		delay := time.Duration(rng.Int64N(max(int64(copying)*8/10, 1)))
		if trial%2 == 1 {
			delay = copying + time.Duration(rng.Int64N(int64(max(renamed, time.Millisecond))))
		}
		if _, _, k := compact(delay); k {
			killed++
			_, statErr := os.Stat(h.db + ".compact")
			if now, err := os.Stat(h.db); err == nil && !os.SameFile(orig, now) {
				afterRename++
			} else if statErr == nil {
				midCopy++
			}
		}
		// Whatever the instant, the database opens and holds every row.
		h.checkTruth()
		if n := h.count(`SELECT count(*) FROM sync.state`); n == 0 {
			t.Fatalf("trial %d: the bookmarks are gone", trial)
		}
	}
	if midCopy < 2 {
		t.Fatalf("only %d of %d kills fell while the copy existed (%d killed): the window misses the compaction", midCopy, trials, killed)
	}
	// A compaction after the kills removes what they left, and a sync
	// converges.
	if code, out, errOut := h.run("compact", "--config", h.config); code != 0 {
		t.Fatalf("compact after the kills: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(h.db + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a copy is left behind after a finished compaction: %v", err)
	}
	h.sync()
	h.checkTruth()
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left 'running' after recovery", n)
	}
	t.Logf("the copy took %s, the rest %s; %d of %d trials killed, %d while the copy was written, %d after the rename",
		copying, renamed, killed, trials, midCopy, afterRename)
}

// TestDaemonCompactsBetweenRuns: the daemon compacts a mostly free file
// when it closes it (at startup, or after a run), while no run is active,
// once; later runs use the compacted file.
func TestDaemonCompactsBetweenRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real daemon process")
	}
	t.Parallel()
	h := newHarness(t, closefake.Options{Seed: 75, Scale: 20}, "leads", "users")
	h.sync()
	h.fragment()
	before := h.size()
	cfg := strings.Replace(mustRead(t, h.config), `schedule: "@hourly"`, `schedule: "@every 2s"`, 1)
	cfg = "min_interval: 1s\n" + cfg + "duckdb:\n  compact_free_ratio: 0.3\n  compact_min_size: 1MB\n"
	cfg = strings.Replace(cfg, "log: {level: warn}", "log: {level: info, format: json}", 1)
	if err := os.WriteFile(h.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := startDaemon(t, "run", "--config", h.config)
	defer func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", out.String())
		}
	}()
	waitFor(t, "a compaction and two runs after it", 2*time.Minute, func() bool {
		runs, err := readRuns(h.db)
		return err == nil && runs["success:database"] >= 1 && runs["success:leads"] >= 3
	})
	stopDaemon(t, cmd, out)
	// The file itself grows again with the runs after the compaction (a
	// checkpoint rewrites the row groups a run updated): the log has the
	// compaction's sizes.
	m := regexp.MustCompile(`"msg":"database compacted".*"before_bytes":([0-9]+),"after_bytes":([0-9]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatal("no compaction in the daemon's log")
	}
	if b, a := atoi(t, m[1]), atoi(t, m[2]); b != before || a > before*3/4 {
		t.Errorf("the daemon compacted %d bytes to %d; the file had %d", b, a, before)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE trigger = 'compact'`); n != 1 {
		t.Errorf("%d compactions, want 1: the compacted file is not due again", n)
	}
	// No run was active while the file was copied.
	if n := h.count(`SELECT count(*) FROM sync.runs c JOIN sync.runs r ON c.trigger = 'compact' AND r.run_id <> c.run_id
		AND r.started_at < c.finished_at AND coalesce(r.finished_at, now()) > c.started_at`); n != 0 {
		t.Errorf("%d runs overlapped the compaction", n)
	}
	for table, kind := range map[string]string{"leads": "lead", "users": "user"} {
		if got, want := h.live(table), int64(h.fake.Count(kind)); got != want {
			t.Errorf("close.%s: %d rows after the daemon compacted, fake has %d", table, got, want)
		}
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
