package pipeline

import (
	"slices"
	"testing"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/privacy"
)

func TestStartOrderHeaviestFirst(t *testing.T) {
	rep := func(name string, weight int, after ...extract.Step) ReportRun {
		return ReportRun{Report: &extract.Report{Name: name, Weight: weight, After: after}}
	}
	events := func(w int) ReportRun { return rep("event_log", w, extract.ApplyEventDeletes) }
	reader := func(name string, w int) ReportRun { return rep(name, w, extract.RefetchEdited) }
	private := func(name string, w int, field string) ReportRun {
		rr := rep(name, w)
		spec, err := privacy.NewSpec([]string{field}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rr.Privacy = spec
		return rr
	}
	cases := []struct {
		name    string
		reports []ReportRun
		want    []string
	}{
		{"by weight, job order among equals",
			[]ReportRun{rep("users", 0), rep("leads", 3), rep("tasks", 1), rep("opportunities", 3)},
			[]string{"leads", "opportunities", "tasks", "users"}},
		{"an event log after a reader may start before it",
			[]ReportRun{rep("users", 0), reader("activities", 4), events(4)},
			[]string{"activities", "event_log", "users"}},
		{"a reader after the event log starts after it, however heavy",
			[]ReportRun{rep("users", 0), events(1), rep("leads", 3), reader("activities", 2)},
			[]string{"leads", "event_log", "activities", "users"}},
		{"the event log a heavy reader waits for starts as early as the reader would",
			[]ReportRun{rep("users", 0), events(0), reader("activities", 4), rep("leads", 3)},
			[]string{"event_log", "activities", "leads", "users"}},
		{"a light reader waits for the event log, then keeps its weight",
			[]ReportRun{events(4), reader("activities_call", 2), rep("tasks", 1), rep("users", 0)},
			[]string{"event_log", "activities_call", "tasks", "users"}},
		{"a report naming a custom field by name waits for custom_fields, wherever it is in the job, which takes its weight",
			[]ReportRun{private("contacts", 3, "custom.LinkedIn"), rep("leads", 2), rep("custom_fields", 0)},
			[]string{"custom_fields", "contacts", "leads"}},
		{"one naming it by id does not",
			[]ReportRun{private("contacts", 3, "custom.cf_abc"), rep("leads", 2), rep("custom_fields", 0)},
			[]string{"contacts", "leads", "custom_fields"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, i := range startOrder(c.reports) {
				got = append(got, c.reports[i].Report.Name)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("start order %v, want %v", got, c.want)
			}
		})
	}
}
