package schedule

import (
	"testing"

	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
)

func TestTablesWrittenSizesTheMemoryLimit(t *testing.T) {
	off := false
	for _, c := range []struct {
		name   string
		jobs   []config.Job
		tables int
		limit  string
	}{
		{"leads, with its history", []config.Job{{Reports: refs("leads")}}, 2, "67MB"},
		{"leads without history", []config.Job{{Reports: []config.ReportRef{{Name: "leads", History: &off}}}}, 1, "66MB"},
		{"a report in two jobs is one table", []config.Job{{Reports: refs("users", "leads")}, {Reports: refs("users")}}, 3, "69MB"},
		{"replace mode keeps no history", []config.Job{{Reports: []config.ReportRef{{Name: "leads", Mode: "replace"}}}}, 1, "66MB"},
		{"no jobs", nil, 0, "64MB"},
		{"the whole catalog (config.example.yaml's figure)", []config.Job{{Reports: catalogRoots()}}, 52, "142MB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := TablesWritten(&config.Config{Jobs: c.jobs})
			if n != c.tables {
				t.Errorf("TablesWritten = %d, want %d", n, c.tables)
			}
			if got := load.MemoryLimitFor(n); got != c.limit {
				t.Errorf("MemoryLimitFor(%d) = %s, want %s", n, got, c.limit)
			}
		})
	}
}

// catalogRoots is every report of the catalog a job can name (not a child).
func catalogRoots() []config.ReportRef {
	var out []config.ReportRef
	for _, r := range extract.Catalog() {
		if r.Parent == "" {
			out = append(out, config.ReportRef{Name: r.Name})
		}
	}
	return out
}
