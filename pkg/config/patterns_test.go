package config

import (
	"reflect"
	"testing"
)

// TestReportPatterns: all and globs in a job's reports expand against the
// catalog in its order, in place of the pattern and with its options; a
// report listed by name keeps its own entry, and none is added twice.
func TestReportPatterns(t *testing.T) {
	t.Setenv("CLOSE_API_KEY", "api_test")
	for _, tt := range []struct {
		name, reports string
		want          []string // the job's reports after expansion
		modes         map[string]string
		expansions    []ReportExpansion
	}{
		{name: "all", reports: "[all]", want: reports,
			expansions: []ReportExpansion{{Job: "a", Pattern: "all", Reports: reports}}},
		{name: "glob", reports: "[leads, activities*]", want: []string{"leads", "activities", "activities_call"},
			expansions: []ReportExpansion{{Job: "a", Pattern: "activities*", Reports: []string{"activities", "activities_call"}}}},
		{name: "question mark and class", reports: "[\"[lt]*s\", \"user?\"]",
			want: []string{"leads", "tasks", "lead_statuses", "users"}},
		{name: "named keeps its options", reports: "[{name: \"*statuses\", mode: append}, {name: lead_statuses, mode: upsert}]",
			want:       []string{"opportunity_statuses", "lead_statuses"},
			modes:      map[string]string{"opportunity_statuses": "append", "lead_statuses": "upsert"},
			expansions: []ReportExpansion{{Job: "a", Pattern: "*statuses", Reports: []string{"opportunity_statuses"}}}},
		{name: "overlapping patterns", reports: "[\"*s\", all]",
			want: []string{"leads", "contacts", "opportunities", "tasks", "users", "lead_statuses", "opportunity_statuses",
				"activities", "custom_fields", "event_log", "activities_call"}},
		{name: "no pattern", reports: "[leads]", want: []string{"leads"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Check(writeConfig(t, "accounts: [{name: m, api_key_env: CLOSE_API_KEY}]\njobs:\n  - name: a\n    account: m\n    schedule: '@hourly'\n    reports: "+tt.reports+"\n"),
				reports, Needs{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range cfg.Jobs[0].Reports {
				got = append(got, r.Name)
				if m, ok := tt.modes[r.Name]; ok && r.Mode != m {
					t.Errorf("%s mode = %q, want %q", r.Name, r.Mode, m)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("reports = %v, want %v", got, tt.want)
			}
			if tt.expansions != nil && !reflect.DeepEqual(cfg.Expansions(), tt.expansions) {
				t.Errorf("expansions = %+v, want %+v", cfg.Expansions(), tt.expansions)
			}
		})
	}
}

func TestExpandReportPattern(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		want    []string
		err     string
	}{
		{pattern: "all", want: reports},
		{pattern: "activities_*", want: []string{"activities_call"}},
		{pattern: "*", want: reports},
		{pattern: "*_call", want: []string{"activities_call"}},
		{pattern: "activitie_*", err: `pattern "activitie_*" matches no report (did you mean "activities_*"?)`},
		{pattern: "*_cal", err: `pattern "*_cal" matches no report (did you mean "*_call"?)`},
		{pattern: "oppportunity_*", err: `pattern "oppportunity_*" matches no report (did you mean "opportunity_*"?)`},
		{pattern: "oportunit*", err: `pattern "oportunit*" matches no report (did you mean "opportunity_*"?)`},
		{pattern: "zzz*", err: `pattern "zzz*" matches no report (see 'closesync reports')`},
		{pattern: "[a", err: `"[a" is not a valid report pattern (all, or a glob such as activities_* (path.Match: *, ?, [a-z]))`},
	} {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := ExpandReportPattern(tt.pattern, reports)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("= %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
