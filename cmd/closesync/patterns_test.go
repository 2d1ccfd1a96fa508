package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/extract"
)

// TestValidateShowsReportPatterns: validate prints what each pattern of a
// job's reports stands for, in catalog order, and refuses one that matches
// nothing with a did-you-mean.
func TestValidateShowsReportPatterns(t *testing.T) {
	dir := t.TempDir()
	all := extract.Names()
	all[0] = fmt.Sprintf("%d reports: %s", len(all), all[0])
	const head = "database: ./crm.duckdb\naccounts:\n  - {name: main, api_key: api_x}\njobs:\n  - name: core\n    account: main\n    schedule: '@every 1d'\n"
	for _, tt := range []struct {
		name, reports string
		code          int
		want          []string
	}{
		{"glob", "[leads, \"activities_*\", \"*_statuses\"]", 0, []string{
			"jobs core: activities_* is 13 reports: activities_call, activities_created, activities_custom_activity, activities_email_threads, " +
				"activities_emails, activities_form_submission, activities_lead_status_change, activities_meeting, activities_notes, " +
				"activities_opportunity_status_change, activities_sms, activities_task_completed, activities_whatsapp_message\n",
			"jobs core: *_statuses is 4 reports: lead_statuses, opportunity_statuses, organizations_lead_statuses, organizations_opportunity_statuses\n",
			"ok (1 accounts, 1 jobs)",
		}},
		{"all", "[all]", 0, []string{"jobs core: all is " + strings.Join(all, ", ") + "\n"}},
		{"nothing new", "[lead_statuses, \"lead_stat*\"]", 0, []string{"jobs core: lead_stat* adds no report (the job lists each it matches already)\n"}},
		{"no match", "[activitie_*]", 2, []string{`jobs[0].reports[0]: pattern "activitie_*" matches no report (did you mean "activities_*"?)`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(dir, tt.name+".yaml"), head+"    reports: "+tt.reports+"\n")
			code, out, errOut := runIn(t, nil, "validate", "--config", path)
			if code != tt.code {
				t.Fatalf("exit = %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}
