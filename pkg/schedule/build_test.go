package schedule

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
)

func refs(names ...string) []config.ReportRef {
	var out []config.ReportRef
	for _, n := range names {
		out = append(out, config.ReportRef{Name: n})
	}
	return out
}

// describeJobs is jobs as one line each: name, account, params, each
// report run with its mode and window, hard deletes and the concurrency.
func describeJobs(jobs []pipeline.Job) string {
	var lines []string
	for _, j := range jobs {
		var rs []string
		for _, rr := range j.Reports {
			s := rr.Report.Name + ":" + string(rr.Mode)
			if rr.Window != 0 {
				s += "@" + rr.Window.String()
			}
			rs = append(rs, s)
		}
		l := fmt.Sprintf("%s/%s org=%s user=%s [%s]", j.Name, j.Account, j.Params["organization_id"], j.Params["user_id"], strings.Join(rs, " "))
		if j.HardDeletes {
			l += " hard"
		}
		if j.Concurrency > 0 {
			l += fmt.Sprintf(" x%d", j.Concurrency)
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "; ")
}

// TestJobs: child reports run as their root, once per job; modes default to
// the report's; the organization comes from the job, else its account, and
// the concurrency from the account;
// filters select jobs and reports; unknown names are usage errors.
func TestJobs(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{
		Accounts: []config.Account{{Name: "eu", OrganizationID: "orga_eu", MaxConcurrency: 3}, {Name: "us"}},
		Jobs: []config.Job{
			{Name: "core", Account: "eu", Reports: []config.ReportRef{{Name: "leads"}, {Name: "leads_contacts"}, {Name: "contacts_emails"}, {Name: "users"}}},
			{Name: "calls", Account: "us", OrganizationID: "orga_job", UserID: "user_1", Deletes: "hard",
				Reports: []config.ReportRef{{Name: "activities_call", Mode: "append", AttributionWindow: 24 * time.Hour}}},
			{Name: "bad", Account: "us", Reports: []config.ReportRef{{Name: "tasks", Mode: "merge"}}},
		},
	}
	for _, c := range []struct {
		name          string
		jobs, reports []string
		want          string // jobs, or the error
	}{
		{"a child runs as its root, once", []string{"core"}, nil, "core/eu org=orga_eu user= [leads:upsert contacts:upsert users:replace]"},
		{"the job's organization, user, mode, window and deletes", []string{"calls"}, nil,
			"calls/us org=orga_job user=user_1 [activities_call:append@24h0m0s] hard"},
		{"the account's max_concurrency", []string{"core"}, nil, "users:replace] x3"},
		{"a report filter", nil, []string{"leads_contacts"}, "core/eu org=orga_eu user= [leads:upsert]"},
		{"reports of two jobs", []string{"core", "calls"}, []string{"users", "activities_call"},
			"core/eu org=orga_eu user= [users:replace] x3; calls/us org=orga_job user=user_1 [activities_call:append@24h0m0s] hard"},
		{"a bad mode", nil, nil, `jobs bad: report tasks: unknown mode "merge"`},
		{"an unknown job", []string{"nope"}, nil, `unknown job "nope" (jobs: core, calls, bad)`},
		{"an unknown report", []string{"core"}, []string{"nope"}, `unknown report "nope" (see 'closesync reports')`},
		{"a misspelt report", []string{"core"}, []string{"opportunity"}, `unknown report "opportunity" (did you mean "opportunities"?) (see 'closesync reports')`},
		{"a misspelt job", []string{"cor"}, nil, `unknown job "cor" (did you mean "core"?) (jobs: core, calls, bad)`},
		{"a report in no selected job", []string{"core"}, []string{"tasks"}, `report "tasks" is in no selected job`},
		{"a mistyped report", []string{"core"}, []string{"leds"}, `unknown report "leds" (did you mean "leads"?) (see 'closesync reports')`},
		{"--report all", []string{"core", "calls"}, []string{"all"}, "core/eu org=orga_eu user= [leads:upsert contacts:upsert users:replace] x3; calls/us"},
		{"--report glob", nil, []string{"activities_*"}, "calls/us org=orga_job user=user_1 [activities_call:append@24h0m0s] hard"},
		{"--report glob of children", nil, []string{"contacts_*"}, "core/eu org=orga_eu user= [contacts:upsert] x3"},
		{"--report glob matching nothing", nil, []string{"activitie_*"}, `--report: pattern "activitie_*" matches no report (did you mean "activities_*"?)`},
		{"--report glob in no selected job", []string{"core"}, []string{"activities_c*"},
			"--report activities_c* matches no report of the selected jobs (it matches activities_call, activities_created, activities_custom_activity)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			jobs, err := Jobs(cfg, c.jobs, c.reports)
			got := describeJobs(jobs)
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrUsage) {
					t.Errorf("error %v is not ErrUsage", err)
				}
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestBuild: a job's entries are the job (reports without a schedule of
// their own), one per report with its own schedule (by its root's name),
// and the reconcile and verify entries, each with the job's settings.
func TestBuild(t *testing.T) {
	t.Parallel()
	no := false
	for _, c := range []struct {
		name string
		job  config.Job
		want []string // entry schedule reports options
	}{
		{"one entry", config.Job{Name: "a", Schedule: "@hourly", Reports: refs("leads", "users")},
			[]string{"a @hourly [leads users] catchup retry=0/1m0s"}},
		{"a report on its own schedule, by its root", config.Job{Name: "b", Schedule: "@hourly", Timezone: "Europe/Berlin", RunOnStart: true, CatchUp: &no,
			Retry:   config.Retry{Attempts: 2, Delay: time.Second},
			Reports: []config.ReportRef{{Name: "leads"}, {Name: "users_self_memberships", Schedule: "5 * * * *"}}},
			[]string{"b/users_self 5 * * * * [users_self] Europe/Berlin start retry=2/1s", "b @hourly [leads] Europe/Berlin start retry=2/1s"}},
		{"every report on its own schedule, and reconcile", config.Job{Name: "c", Schedule: "@daily", Reconcile: "@weekly", Timeout: time.Minute,
			Reports: []config.ReportRef{{Name: "leads", Schedule: "@hourly"}}},
			[]string{"c/leads @hourly [leads] catchup retry=0/1m0s timeout=1m0s", "c/reconcile @weekly [leads] reconcile retry=0/0s timeout=1m0s"}},
		{"verify", config.Job{Name: "d", Schedule: "@hourly", Verify: "@daily", Reports: refs("leads", "users")},
			[]string{"d @hourly [leads users] catchup retry=0/1m0s", "d/verify @daily [leads users] verify retry=0/0s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &config.Config{Jobs: []config.Job{c.job}}
			jobs, err := Jobs(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			sj, err := Build(cfg, jobs)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sj {
				var rs []string
				for _, rr := range s.Reports {
					rs = append(rs, rr.Report.Name)
				}
				entry := s.Entry
				if entry == "" {
					entry = s.Name
				}
				l := fmt.Sprintf("%s %s [%s]", entry, s.Schedule, strings.Join(rs, " "))
				if s.Location != nil {
					l += " " + s.Location.String()
				}
				if s.RunOnStart {
					l += " start"
				}
				if s.CatchUp {
					l += " catchup"
				}
				if s.Reconcile {
					l += " reconcile"
				}
				if s.Verify {
					l += " verify"
				}
				l += fmt.Sprintf(" retry=%d/%s", s.Retry.Attempts, s.Retry.Delay)
				if s.Timeout != 0 {
					l += " timeout=" + s.Timeout.String()
				}
				got = append(got, l)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
	cfg := &config.Config{Jobs: []config.Job{{Name: "tz", Schedule: "@hourly", Timezone: "Mars/Olympus", Reports: refs("leads")}}}
	jobs, err := Jobs(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg, jobs); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "jobs tz: timezone") {
		t.Errorf("bad timezone: %v, want a usage error naming the job", err)
	}
}

// TestResetTargets: which accounts a reset forgets, and when --drop is
// refused because the tables hold another account's rows.
func TestResetTargets(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{Jobs: []config.Job{
		{Name: "a1", Account: "eu", Reports: refs("leads_contacts", "users")}, // a child: resets its parent's state
		{Name: "a2", Account: "eu", Reports: refs("leads")},
		{Name: "b", Account: "us", Reports: refs("leads", "tasks")},
	}}
	for _, c := range []struct {
		report, job string
		drop        bool
		want        string // targets, or the error
	}{
		{"leads", "", false, "a1/eu b/us"},
		{"leads", "", true, "a1/eu b/us"},
		{"leads", "b", false, "b/us"},
		{"leads", "a2", true, `--drop empties the leads tables for every account, and b (account us) sync it too`},
		{"tasks", "b", true, "b/us"},
		{"tasks", "a1", false, "report tasks is not among job a1's reports: nothing to reset"},
	} {
		got, err := ResetTargets(cfg, c.report, c.job, c.drop)
		var s string
		if err != nil {
			s = err.Error()
		}
		var parts []string
		for _, tg := range got {
			parts = append(parts, tg.Job+"/"+tg.Account)
		}
		if err == nil {
			s = strings.Join(parts, " ")
		}
		if !strings.Contains(s, c.want) {
			t.Errorf("reset %s --job %q --drop=%v: %q, want %q", c.report, c.job, c.drop, s, c.want)
		}
	}
}
