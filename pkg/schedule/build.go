package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/privacy"
	"github.com/closesync/closesync/pkg/schema"
)

// ErrUsage marks an error of Jobs, Build and ResetTargets that names a bad
// command line or config (an unknown job or report, a bad mode or
// timezone): the command exits 2.
var ErrUsage = errors.New("bad usage or config")

type usageError struct{ err error }

func (e usageError) Error() string        { return e.err.Error() }
func (e usageError) Unwrap() error        { return e.err }
func (e usageError) Is(target error) bool { return target == ErrUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Jobs turns config jobs into runnable jobs: child reports are replaced by
// their root (written with it), each report once per job, in the mode the
// config names or the report's default; Params carry the job's (else its
// account's) organization_id and its user_id, and deletes: hard sets
// HardDeletes, and Concurrency is the account's max_concurrency. onlyJobs
// and onlyReports filter (empty: all; a report pattern, all or a glob such
// as activities_*, stands for the reports it matches); unknown names and
// patterns that match nothing are usage errors (ErrUsage) naming the
// valid choices.
func Jobs(cfg *config.Config, onlyJobs, onlyReports []string) ([]pipeline.Job, error) {
	var jobNames []string
	for _, j := range cfg.Jobs {
		jobNames = append(jobNames, j.Name)
	}
	for _, j := range onlyJobs {
		if !slices.Contains(jobNames, j) {
			return nil, usagef("unknown job %q %s(jobs: %s)", j, hint(config.Suggest(j, jobNames, 0)), strings.Join(jobNames, ", "))
		}
	}
	// A pattern (all, activities_*) stands for the reports it matches.
	expanded := map[string][]string{}
	var only []string
	for _, r := range onlyReports {
		if config.IsReportPattern(r) {
			names, err := config.ExpandReportPattern(r, extract.Names())
			if err != nil {
				return nil, usagef("--report: %v", err)
			}
			expanded[r] = names
			only = append(only, names...)
			continue
		}
		if _, ok := extract.Lookup(r); !ok {
			return nil, usagef("unknown report %q %s(see 'closesync reports')", r, hint(config.Suggest(r, extract.Names(), 0)))
		}
		only = append(only, r)
	}
	orgOf := map[string]string{}
	concurrency := map[string]int{}
	exportAbove := map[string]int{}
	for _, a := range cfg.Accounts {
		orgOf[a.Name] = a.OrganizationID
		concurrency[a.Name] = a.MaxConcurrency
		exportAbove[a.Name] = a.ExportAbove
	}
	var out []pipeline.Job
	matched := map[string]bool{}
	for _, j := range cfg.Jobs {
		if len(onlyJobs) > 0 && !slices.Contains(onlyJobs, j.Name) {
			continue
		}
		org := j.OrganizationID
		if org == "" {
			org = orgOf[j.Account]
		}
		job := pipeline.Job{Name: j.Name, Account: j.Account, StartDate: j.StartDate.Time,
			Params: map[string]string{"organization_id": org, "user_id": j.UserID}, HardDeletes: j.Deletes == "hard",
			Concurrency: concurrency[j.Account], ExportAbove: exportAbove[j.Account], OnSchemaChange: j.OnSchemaChange}
		seen := map[string]bool{}
		for _, ref := range j.Reports {
			if len(onlyReports) > 0 && !slices.Contains(only, ref.Name) {
				continue
			}
			matched[ref.Name] = true
			rep, ok := extract.Lookup(ref.Name)
			if !ok {
				return nil, usagef("jobs %s: unknown report %q", j.Name, ref.Name)
			}
			root := extract.Root(rep)
			if seen[root.Name] {
				continue
			}
			seen[root.Name] = true
			modeName := ref.Mode
			if modeName == "" {
				modeName = root.DefaultMode.String()
			}
			mode, err := schema.ParseWriteMode(modeName)
			if err != nil {
				return nil, usagef("jobs %s: report %s: %v", j.Name, ref.Name, err)
			}
			spec, err := privacySpec(cfg, j, ref)
			if err != nil {
				return nil, usagef("jobs %s: report %s: %v", j.Name, ref.Name, err)
			}
			job.Reports = append(job.Reports, pipeline.ReportRun{Report: root, Mode: mode, Window: ref.AttributionWindow,
				FilterNulls: cfg.FiltersNulls(j, ref), Privacy: spec, History: KeepsHistory(ref)})
		}
		if len(job.Reports) > 0 {
			out = append(out, job)
		}
	}
	for _, r := range onlyReports {
		names, pattern := expanded[r]
		if !pattern {
			names = []string{r}
		}
		if !slices.ContainsFunc(names, func(n string) bool { return matched[n] }) {
			if pattern {
				return nil, usagef("--report %s matches no report of the selected jobs (it matches %s)", r, strings.Join(names, ", "))
			}
			return nil, usagef("report %q is in no selected job; add it to a job's reports", r)
		}
	}
	return out, nil
}

// Build lays out the scheduled entries of jobs (as Jobs made them from
// cfg): per job, one entry for the reports without a schedule of their own
// (named by the job), one per report with its own schedule (job/report),
// one reconcile entry (job/reconcile) when the job sets reconcile, and one
// verify entry (job/verify) when it sets verify.
// Timezone, timeout, run_on_start, catch-up and retry come from the job's
// config.
func Build(cfg *config.Config, jobs []pipeline.Job) ([]ScheduledJob, error) {
	byName := map[string]config.Job{}
	for _, j := range cfg.Jobs {
		byName[j.Name] = j
	}
	var sj []ScheduledJob
	for _, j := range jobs {
		c := byName[j.Name]
		var loc *time.Location
		if c.Timezone != "" {
			var err error
			if loc, err = time.LoadLocation(c.Timezone); err != nil {
				return nil, usagef("jobs %s: timezone: %v", j.Name, err)
			}
		}
		// A report with a schedule of its own runs as its own entry; the job's
		// entry keeps the rest.
		own := ReportSchedules(c)
		main := j
		main.Reports = nil
		for _, rr := range j.Reports {
			spec, ok := own[rr.Report.Name]
			if !ok {
				main.Reports = append(main.Reports, rr)
				continue
			}
			one := j
			one.Reports = []pipeline.ReportRun{rr}
			sj = append(sj, ScheduledJob{Job: one, Schedule: spec, Location: loc, Timeout: c.Timeout, Entry: j.Name + "/" + rr.Report.Name,
				RunOnStart: c.RunOnStart, CatchUp: c.CatchesUp(), Retry: retryOf(c)})
		}
		if len(main.Reports) > 0 {
			sj = append(sj, ScheduledJob{Job: main, Schedule: c.Schedule, Location: loc, Timeout: c.Timeout,
				RunOnStart: c.RunOnStart, CatchUp: c.CatchesUp(), Retry: retryOf(c)})
		}
		if c.Reconcile != "" {
			sj = append(sj, ScheduledJob{Job: j, Schedule: c.Reconcile, Location: loc, Timeout: c.Timeout,
				Entry: j.Name + "/reconcile", Reconcile: true})
		}
		if c.Verify != "" {
			sj = append(sj, ScheduledJob{Job: j, Schedule: c.Verify, Location: loc, Timeout: c.Timeout,
				Entry: j.Name + "/verify", Verify: true})
		}
	}
	return sj, nil
}

func retryOf(j config.Job) Retry {
	r := Retry{Attempts: j.Retry.Attempts, Delay: j.Retry.Delay}
	if r.Delay == 0 {
		r.Delay = config.DefaultRetryDelay
	}
	return r
}

// ReportSchedules maps each report of the job that has its own schedule
// (by the name of the report actually run: a child report's root) to it.
func ReportSchedules(j config.Job) map[string]string {
	out := map[string]string{}
	for _, ref := range j.Reports {
		if ref.Schedule == "" {
			continue
		}
		if rep, ok := extract.Lookup(ref.Name); ok {
			out[extract.Root(rep).Name] = ref.Schedule
		}
	}
	return out
}

// ResetTarget is one account whose state of a report a reset forgets,
// named by the first job (in config order) that syncs it there.
type ResetTarget struct{ Job, Account string }

// ResetTargets checks a reset's command line against the config: a known
// root report, a known job, and at least one selected job that syncs the
// report. --drop empties the report's tables for every account, so with
// --job it is refused while another account's job syncs the report too.
// Every error is a usage error (ErrUsage).
func ResetTargets(cfg *config.Config, report, job string, drop bool) ([]ResetTarget, error) {
	rep, ok := extract.Lookup(report)
	if !ok {
		return nil, usagef("unknown report %q %s(see 'closesync reports')", report, hint(config.Suggest(report, extract.Names(), 0)))
	}
	if rep.Parent != "" {
		return nil, usagef("report %s is written with its parent %s: reset %s (--drop empties its child tables too)", report, rep.Parent, rep.Parent)
	}
	var jobNames []string
	for _, j := range cfg.Jobs {
		jobNames = append(jobNames, j.Name)
	}
	if job != "" && !slices.Contains(jobNames, job) {
		return nil, usagef("unknown job %q %s", job, hint(config.Suggest(job, jobNames, 10)))
	}
	syncs := func(j config.Job) bool {
		for _, ref := range j.Reports {
			if r, ok := extract.Lookup(ref.Name); ok && extract.Root(r).Name == report {
				return true
			}
		}
		return false
	}
	var out []ResetTarget
	var others []string
	for _, j := range cfg.Jobs {
		if !syncs(j) {
			continue
		}
		if job != "" && j.Name != job {
			others = append(others, fmt.Sprintf("%s (account %s)", j.Name, j.Account))
			continue
		}
		if !slices.ContainsFunc(out, func(t ResetTarget) bool { return t.Account == j.Account }) {
			out = append(out, ResetTarget{Job: j.Name, Account: j.Account})
		}
	}
	if len(out) == 0 {
		if job != "" {
			return nil, usagef("report %s is not among job %s's reports: nothing to reset", report, job)
		}
		return nil, usagef("report %s is in no job: nothing to reset", report)
	}
	if drop && len(others) > 0 {
		var foreign []string
		for _, o := range others {
			if !strings.HasSuffix(o, "(account "+out[0].Account+")") {
				foreign = append(foreign, o)
			}
		}
		if len(foreign) > 0 {
			return nil, usagef("--drop empties the %s tables for every account, and %s sync it too: leave out --job to reset them all, or reset without --drop",
				report, strings.Join(foreign, ", "))
		}
	}
	return out, nil
}

func hint(h string) string {
	if h == "" {
		return ""
	}
	return h + " "
}

// Usage marks err as a usage error (ErrUsage); nil stays nil.
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// KeepsHistory reports whether a job's report ref keeps every version of
// its rows: its history option, else its report's default (extract.Report
// History) when it writes in upsert mode.
func KeepsHistory(ref config.ReportRef) bool {
	if ref.History != nil {
		return *ref.History
	}
	rep, ok := extract.Lookup(ref.Name)
	if !ok {
		return false
	}
	root := extract.Root(rep)
	modeName := ref.Mode
	if modeName == "" {
		modeName = root.DefaultMode.String()
	}
	mode, err := schema.ParseWriteMode(modeName)
	return err == nil && root.History && mode == schema.Upsert
}

// privacySpec is a report's exclude and hash options with the salt of the
// job's account; nil when it has none. An unreadable salt is an error: a
// run must not start that would store the values in clear.
func privacySpec(cfg *config.Config, j config.Job, ref config.ReportRef) (*privacy.Spec, error) {
	if len(ref.Exclude) == 0 && len(ref.Hash) == 0 {
		return nil, nil
	}
	var salt []byte
	if len(ref.Hash) > 0 {
		i := slices.IndexFunc(cfg.Accounts, func(a config.Account) bool { return a.Name == j.Account })
		if i < 0 {
			return nil, fmt.Errorf("unknown account %q", j.Account)
		}
		s, err := cfg.Accounts[i].ResolveSalt()
		if err != nil {
			return nil, fmt.Errorf("hash: %w", err)
		}
		salt = s
	}
	return privacy.NewSpec(ref.Exclude, ref.Hash, salt)
}

// TablesWritten counts the tables the jobs of cfg write: one per report
// (its child tables are views) and its versions table when it keeps
// history. A report in two jobs, or of two accounts, writes one table.
func TablesWritten(cfg *config.Config) int {
	seen := map[string]bool{}
	for _, j := range cfg.Jobs {
		for _, ref := range j.Reports {
			seen[ref.Name] = true
			if KeepsHistory(ref) {
				seen[ref.Name+" versions"] = true
			}
		}
	}
	return len(seen)
}
