// Package systemd is closesync's side of systemd: sd_notify (READY,
// RELOADING, STOPPING, the watchdog and a STATUS= line saying what the
// daemon does) and journald's syslog priority prefixes on stderr.
package systemd

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
)

// Status keeps systemd's STATUS= (the line `systemctl status` shows)
// saying what the daemon does: which job and report run, else when the
// next run is due, and the last failure of any report until it succeeds
// again. Without NOTIFY_SOCKET it sends nothing.
type Status struct {
	log     *zap.Logger
	running func(entry string) bool // whether a scheduler entry runs
	now     func() time.Time

	mu      sync.Mutex
	cfg     *config.Config
	inRun   []runningReport         // in start order
	failed  map[string]failedReport // by job and report, until it succeeds
	sent    string
	stopped bool
}

type runningReport struct{ account, report, job string }

type failedReport struct {
	job, report, err string
	at               time.Time
}

// NewStatus makes the STATUS= line of cfg's daemon; running tells whether a
// scheduler entry (job, job/report, job/reconcile) runs (Pool.Running).
func NewStatus(cfg *config.Config, running func(entry string) bool, log *zap.Logger) *Status {
	return &Status{log: log, running: running, now: time.Now, cfg: cfg, failed: map[string]failedReport{}}
}

// SetConfig takes a reloaded config (for the next-run time and jobs).
func (s *Status) SetConfig(cfg *config.Config) {
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
	s.Update()
}

// Wrap marks a report running when its extraction starts.
func (s *Status) Wrap(inner func(string) (pipeline.ExtractFunc, error)) func(string) (pipeline.ExtractFunc, error) {
	return func(account string) (pipeline.ExtractFunc, error) {
		ext, err := inner(account)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
			s.started(account, req.Report.Name)
			return ext(ctx, req, emit)
		}, nil
	}
}

func (s *Status) started(account, report string) {
	s.mu.Lock()
	r := runningReport{account: account, report: report, job: s.jobOf(account, report)}
	// A job runs its reports one after another, and results arrive when
	// the last one ends: a report that starts replaces its job's previous.
	s.inRun = slices.DeleteFunc(s.inRun, func(x runningReport) bool { return x.job == r.job && x.account == account })
	s.inRun = append(s.inRun, r)
	s.mu.Unlock()
	s.Update()
}

// jobOf names the job running report with account's key: the pool knows
// which entries run, the config which of them hold the report. Called with
// s.mu held.
func (s *Status) jobOf(account, report string) string {
	var all, running []string
	for _, j := range s.cfg.Jobs {
		if j.Account != account || !slices.ContainsFunc(j.Reports, func(r config.ReportRef) bool {
			rep, ok := extract.Lookup(r.Name)
			return ok && extract.Root(rep).Name == report
		}) {
			continue
		}
		all = append(all, j.Name)
		if s.running(j.Name) || s.running(j.Name+"/"+report) || s.running(j.Name+"/reconcile") {
			running = append(running, j.Name)
		}
	}
	if len(running) > 0 {
		return strings.Join(running, ", ")
	}
	return strings.Join(all, ", ")
}

// Observe takes a finished report run (Pool.OnResult).
func (s *Status) Observe(r pipeline.Result) {
	s.mu.Lock()
	s.inRun = slices.DeleteFunc(s.inRun, func(x runningReport) bool {
		return x.account == r.Account && (x.report == r.Report || slices.Contains(strings.Split(x.job, ", "), r.Job))
	})
	key := r.Job + "/" + r.Report
	switch r.Status {
	case runlog.Success:
		delete(s.failed, key)
	case runlog.Failed:
		msg := "failed"
		if r.Err != nil {
			msg = r.Err.Error()
		}
		s.failed[key] = failedReport{job: r.Job, report: r.Report, err: shortError(msg), at: s.now()}
	default:
		// A cancelled run (a stop) neither clears nor sets a failure.
	}
	s.mu.Unlock()
	s.Update()
}

// Stopping says so until the process exits.
func (s *Status) Stopping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	s.sendLocked("stopping: cancelling runs at the next batch boundary")
}

// Update sends the current status if it changed.
func (s *Status) Update() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.sendLocked(s.text())
	}
}

// sendLocked sends text unless it was the last sent; under s.mu, so that
// updates reach systemd in order (one datagram, it does not block).
func (s *Status) sendLocked(text string) {
	if text != s.sent {
		s.sent = text
		Notify(s.log, "STATUS="+text)
	}
}

// text is the status line; called with s.mu held.
func (s *Status) text() string {
	var parts []string
	if len(s.inRun) > 0 {
		var rs []string
		for _, r := range s.inRun {
			rs = append(rs, fmt.Sprintf("running job %s (report %s)", r.job, r.report))
		}
		parts = append(parts, strings.Join(slices.Compact(rs), ", "))
	} else if at, entry := nextRun(s.cfg, s.now()); !at.IsZero() {
		parts = append(parts, fmt.Sprintf("idle; next run %s (job %s)", at.UTC().Format(time.RFC3339), entry))
	} else {
		parts = append(parts, "idle")
	}
	if len(s.failed) > 0 {
		var last failedReport
		for _, f := range s.failed {
			if f.at.After(last.at) || last.job == "" || (f.at.Equal(last.at) && f.job+f.report < last.job+last.report) {
				last = f
			}
		}
		p := fmt.Sprintf("last run failed: job %s, report %s: %s", last.job, last.report, last.err)
		if n := len(s.failed) - 1; n > 0 {
			p += fmt.Sprintf(" (and %d more failing)", n)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "; ")
}

// shortError is the first line of an error, at most 160 characters: the
// status is one line.
func shortError(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	if r := []rune(msg); len(r) > 160 {
		msg = string(r[:159]) + "…"
	}
	return msg
}

// nextRun is the soonest tick of the config's schedules after now, and
// the entry it starts (job, job/report or job/reconcile).
func nextRun(cfg *config.Config, now time.Time) (time.Time, string) {
	var best time.Time
	var entry string
	consider := func(name, spec, tz string) {
		if spec == "" {
			return
		}
		if tz != "" {
			spec = "CRON_TZ=" + tz + " " + spec
		}
		sched, err := parseSchedule(spec)
		if err != nil {
			return // the scheduler refused it already
		}
		if t := sched.Next(now); !t.IsZero() && (best.IsZero() || t.Before(best)) {
			best, entry = t, name
		}
	}
	for _, j := range cfg.Jobs {
		own := schedule.ReportSchedules(j)
		if len(own) < len(j.Reports) {
			consider(j.Name, j.Schedule, j.Timezone)
		}
		for _, rep := range slices.Sorted(maps.Keys(own)) {
			consider(j.Name+"/"+rep, own[rep], j.Timezone)
		}
		consider(j.Name+"/reconcile", j.Reconcile, j.Timezone)
		consider(j.Name+"/verify", j.Verify, j.Timezone)
	}
	return best, entry
}

// parseSchedule parses a spec as the scheduler does, never panicking
// (robfig/cron#554).
func parseSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("schedule %q: %v", spec, r)
		}
	}()
	return cron.ParseStandard(spec)
}
