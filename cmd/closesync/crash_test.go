package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
)

// killTrials is how many syncs TestKillNineAtAnyInstant kills: the suite's
// 12 keep it within the suite's time budget; -kill.trials=200 is the long
// run (README, "Crash safety").
var killTrials = flag.Int("kill.trials", 12, "syncs TestKillNineAtAnyInstant kills with SIGKILL")

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
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 21))
	killed := 0
	for trial := 0; trial < trials; trial++ {
		// Change the data so every trial has new work in flight.
		ids := h.fake.IDs("lead")
		h.fake.Update("lead", ids[rng.IntN(len(ids))], map[string]any{"name": fmt.Sprintf("Trial %d", trial)})
		if _, err := h.fake.Create("lead", map[string]any{"name": fmt.Sprintf("New %d", trial)}); err != nil {
			t.Fatal(err)
		}
		// The kill falls at a seeded random instant counted from the
		// process's second request to the fake, when a report's run row is
		// written and its reads are under way; counted from the start, it
		// would fall before the process got that far on a loaded machine.
		delay := time.Duration(rng.IntN(1500)) * time.Millisecond
		before := h.fake.Requests()
		cmd := exec.Command(exe, "sync", "--config", h.config)
		cmd.Env = append(os.Environ(), "TEST_CLOSESYNC_AS_MAIN=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		poll := time.NewTicker(2 * time.Millisecond)
		var kill <-chan time.Time
	wait:
		for {
			select {
			case <-done: // finished before the kill: fine, the next trial kills again
				break wait
			case <-poll.C:
				if kill == nil && h.fake.Requests() >= before+2 {
					kill = time.After(delay)
				}
			case <-kill:
				cmd.Process.Kill()
				<-done
				killed++
				break wait
			}
		}
		poll.Stop()
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
