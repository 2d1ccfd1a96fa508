package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
)

// killTrials is how many syncs TestKillNineAtAnyInstant kills: the suite's
// 10 keep it within the suite's time budget; -kill.trials=200 is the long
// run (README, "Crash safety").
var killTrials = flag.Int("kill.trials", 10, "syncs TestKillNineAtAnyInstant kills with SIGKILL")

// TestKillNineAtAnyInstant kills a real `closesync sync` process with
// SIGKILL at seeded random instants, again and again on one database file,
// with the data changing in between; after every kill a normal sync must
// converge to the fake's truth with no duplicate ids: nothing lost, nothing
// doubled, whatever the moment of the crash (mid-request, mid-batch,
// mid-commit, mid-checkpoint).
func TestKillNineAtAnyInstant(t *testing.T) {
	if testing.Short() {
		t.Skip("kills real processes")
	}
	t.Parallel()
	trials := *killTrials
	h := newHarness(t, closefake.Options{Seed: 21, Scale: 120, Latency: 2 * time.Millisecond}, coreReports...)
	rng := rand.New(rand.NewPCG(21, 21))
	killer := &killer{rng: rng, fake: h.fake, span: 1500 * time.Millisecond}
	killed := 0
	for trial := 0; trial < trials; trial++ {
		// Change the data so every trial has new work in flight.
		ids := h.fake.IDs("lead")
		h.fake.Update("lead", ids[rng.IntN(len(ids))], map[string]any{"name": fmt.Sprintf("Trial %d", trial)})
		if _, err := h.fake.Create("lead", map[string]any{"name": fmt.Sprintf("New %d", trial)}); err != nil {
			t.Fatal(err)
		}
		if killer.run(t, "sync", "--config", h.config) {
			killed++
		}
	}
	if killed < trials/2 {
		t.Fatalf("only %d of %d trials were killed mid-run: the kill window misses the sync", killed, trials)
	}
	out := h.sync()
	h.checkTruth()
	for _, r := range extract.Catalog() {
		if !contains(coreReports, extract.Root(r).Name) || len(r.Table.Key) != 1 {
			continue
		}
		if dup := h.count(fmt.Sprintf(`SELECT count(*) - count(DISTINCT id) FROM close.%s`, r.Name)); dup != 0 {
			t.Errorf("close.%s: %d duplicate ids after %d kills", r.Name, dup, killed)
		}
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left 'running' after recovery", n)
	}
	if n := h.count(`SELECT count(*) FROM sync.runs WHERE status = 'failed' AND error LIKE 'interrupted%'`); n == 0 {
		t.Errorf("no run recorded as interrupted after %d kills\n%s", killed, out)
	}
	t.Logf("%d of %d trials killed mid-run; final sync:\n%s", killed, trials, out)
}

// killer re-runs this binary as closesync and kills it with SIGKILL at a
// seeded random instant, counted from the process's second request to the
// fake (when a report's run row is written and its reads are under way;
// counted from the start, it would fall before the process got that far
// on a loaded machine), within span. A run that ends before its kill sets
// span to how long it took: on a machine faster than the span, or once the
// runs are incremental, most kills would otherwise fall after the end.
type killer struct {
	rng  *rand.Rand
	fake *closefake.Server
	span time.Duration
}

// run runs closesync with args and reports whether it was killed before it
// ended.
func (k *killer) run(t *testing.T, args ...string) bool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	delay := time.Duration(k.rng.Int64N(int64(max(k.span, time.Millisecond))))
	before := k.fake.Requests()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	poll := time.NewTicker(2 * time.Millisecond)
	defer poll.Stop()
	var kill <-chan time.Time
	var started time.Time
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("closesync %s: %v\n%s", strings.Join(args, " "), err, out.String())
			}
			if !started.IsZero() {
				k.span = time.Since(started)
			}
			return false
		case <-poll.C:
			if kill == nil && k.fake.Requests() >= before+2 {
				started, kill = time.Now(), time.After(delay)
			}
		case <-kill:
			_ = cmd.Process.Kill()
			<-done
			return true
		}
	}
}
