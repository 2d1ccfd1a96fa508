package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/extract"
)

// TestTwoOrganizationsInOneFile syncs two Close organizations (two fakes,
// two accounts, two jobs) into one database file, with every report of the
// catalog, and checks every table against the union of both truths, each
// organization's rows against its own fake: after the first sync, after
// changes in one organization and a sync, and after a reconcile (three
// syncs of 48 reports in two organizations). In the
// second case both fakes have the same seed, so every object id (leads,
// users, statuses, custom fields) exists in both organizations.
// allOrgCases runs every case of TestTwoOrganizationsInOneFile; the suite
// runs colliding ids only (each case syncs every report of two
// organizations several times: about a minute without -race).
var allOrgCases = flag.Bool("multiorg.all", false, "run every case of TestTwoOrganizationsInOneFile, not only colliding ids")

func TestTwoOrganizationsInOneFile(t *testing.T) {
	t.Parallel()
	var roots []string
	for _, r := range extract.Catalog() {
		if r.Parent == "" {
			roots = append(roots, r.Name)
		}
	}
	for _, c := range []struct {
		name       string
		one, other closefake.Options
	}{
		{"different organizations", closefake.Options{Seed: 61, Scale: 20}, closefake.Options{Seed: 62, Scale: 35, APIKey: "api_second0000000000000000000"}},
		{"colliding ids", closefake.Options{Seed: 61, Scale: 20},
			closefake.Options{Seed: 61, Scale: 20, APIKey: "api_second0000000000000000000", OrganizationID: "orga_second00000000000000000000"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "different organizations" && !*allOrgCases {
				t.Skip("behind -multiorg.all: colliding ids, the stricter case, runs in the suite")
			}
			// Both fakes generate their data at one instant (the data
			// depends on Seed, Scale and Now), then follow the real clock.
			t0 := time.Now()
			var generated atomic.Bool
			clock := func() time.Time {
				if !generated.Load() {
					return t0
				}
				return time.Now()
			}
			c.one.Now, c.other.Now = clock, clock
			one, other := newHarness(t, c.one, roots...), newHarness(t, c.other, roots...)
			generated.Store(true)
			one.keepReadsOpen() // every read is of one's file
			if one.fake.OrganizationID() == other.fake.OrganizationID() {
				t.Fatal("the fakes are one organization")
			}
			collide := one.fake.IDs("lead")[0] == other.fake.IDs("lead")[0]
			if collide != (c.one.Seed == c.other.Seed) {
				t.Fatalf("lead ids collide: %v, want %v", collide, c.one.Seed == c.other.Seed)
			}
			one.config = filepath.Join(one.dir, "two-orgs.yaml")
			cfg := fmt.Sprintf(`database: %s
log: {level: warn}
accounts:
  - {name: one, api_key: %q, base_url: %s/api/v1}
  - {name: other, api_key: %q, base_url: %s/api/v1}
jobs:
  - {name: one, account: one, schedule: "@hourly", reports: [%s]}
  - {name: other, account: other, schedule: "@hourly", reports: [%[6]s]}
`, one.db, one.key, one.srv.URL, other.key, other.srv.URL, strings.Join(roots, ", "))
			if err := os.WriteFile(one.config, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			// check compares the tables of the reports that only selects
			// (nil: all) with the fakes.
			check := func(stage string, only func(*extract.Report) bool) {
				t.Helper()
				truths := map[string]map[string]int{}
				for _, h := range []*harness{one, other} {
					truths[h.fake.OrganizationID()] = h.catalogTruth()
				}
				// Two queries for the whole catalog: each opens the file.
				var live, dups []string
				for _, r := range extract.Catalog() {
					live = append(live, fmt.Sprintf(`SELECT '%s', organization_id, count(*) FROM close.%[1]s WHERE _deleted_at IS NULL GROUP BY 2`, r.Name))
					dups = append(dups, fmt.Sprintf(`SELECT '%s', count(*) FROM (SELECT %s FROM close.%[1]s GROUP BY ALL HAVING count(*) > 1)`,
						r.Name, strings.Join(r.Table.WithOrg().Key, ", ")))
				}
				got := map[string]map[string]int64{}
				for _, row := range one.query(strings.Join(live, " UNION ALL ")) {
					table := row[0].(string)
					if got[table] == nil {
						got[table] = map[string]int64{}
					}
					got[table][fmt.Sprint(row[1])] = row[2].(int64)
				}
				for _, row := range one.query(strings.Join(dups, " UNION ALL ")) {
					if n := row[1].(int64); n != 0 {
						t.Errorf("%s: close.%s: %d duplicate keys", stage, row[0], n)
					}
				}
				for _, r := range extract.Catalog() {
					if only != nil && !only(r) {
						continue
					}
					total := 0
					for org, want := range truths {
						n, ok := want[r.Name]
						if !ok {
							t.Errorf("%s: no truth for this report: add it to catalogTruth", r.Name)
							continue
						}
						total += n
						if g := got[r.Name][org]; g != int64(n) {
							t.Errorf("%s: close.%s has %d live rows of %s, its fake has %d", stage, r.Name, g, org, n)
						}
					}
					if total == 0 && !r.MayBeEmpty {
						t.Errorf("%s: the fakes have no rows for it; the test proves nothing", r.Name)
					}
					var all int64
					for _, n := range got[r.Name] {
						all += n
					}
					if all != int64(total) {
						t.Errorf("%s: close.%s has %d live rows, the fakes %d together", stage, r.Name, all, total)
					}
				}
				// Each organization's custom field values read through its
				// own definitions.
				for _, h := range []*harness{one, other} {
					var id, name string
					for _, f := range h.fake.Objects("custom_field") {
						if f["object_type"] == "lead" {
							id, name = f["id"].(string), f["name"].(string)
							break
						}
					}
					want := 0
					for _, l := range h.fake.Objects("lead") {
						if l["custom."+id] != nil {
							want++
						}
					}
					got := one.count(fmt.Sprintf(`SELECT count(%q) FROM close.leads_custom WHERE organization_id = ? AND _deleted_at IS NULL`, name),
						h.fake.OrganizationID())
					if got != int64(want) || want == 0 {
						t.Errorf("%s: leads_custom.%q of %s: %d values, fake has %d", stage, name, h.fake.OrganizationID(), got, want)
					}
				}
			}
			start := time.Now()
			one.sync()
			t.Logf("first sync of both organizations: %s", time.Since(start))
			check("first sync", nil)
			if n := one.count(`SELECT count(DISTINCT organization_id) FROM sync.runs`); n != 2 {
				t.Errorf("sync.runs names %d organizations, want 2", n)
			}
			if n := one.count(`SELECT count(DISTINCT organization_id) FROM sync.state`); n != 2 {
				t.Errorf("sync.state holds bookmarks of %d organizations, want 2", n)
			}

			// Changes in the other organization only: an edit, a new lead,
			// a deleted contact (through the event log), a renamed status
			// and custom field (full-refresh tables).
			f := other.fake
			lead := f.IDs("lead")[3]
			if err := f.Update("lead", lead, map[string]any{"name": "Renamed In Other"}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Create("lead", map[string]any{"name": "New In Other", "status_id": f.IDs("lead_status")[0]}); err != nil {
				t.Fatal(err)
			}
			contact := f.IDs("contact")[2]
			if err := f.Delete("contact", contact); err != nil {
				t.Fatal(err)
			}
			status := f.IDs("lead_status")[1]
			if err := f.Update("lead_status", status, map[string]any{"label": "Renamed Status"}); err != nil {
				t.Fatal(err)
			}
			var field string
			for _, cf := range f.Objects("custom_field") {
				if cf["object_type"] == "lead" {
					field = cf["id"].(string)
					break
				}
			}
			if err := f.Update("custom_field", field, map[string]any{"name": "Renamed Field"}); err != nil {
				t.Fatal(err)
			}
			one.sync()
			check("after changes in one organization", nil)
			orgOne, orgOther := one.fake.OrganizationID(), f.OrganizationID()
			for _, q := range []struct {
				q    string
				args []any
				want int64
			}{
				{`SELECT count(*) FROM close.leads WHERE name = 'Renamed In Other' AND organization_id = ?`, []any{orgOther}, 1},
				{`SELECT count(*) FROM close.contacts WHERE id = ? AND organization_id = ? AND _deleted_at IS NOT NULL`, []any{contact, orgOther}, 1},
				{`SELECT count(*) FROM close.lead_statuses WHERE label = 'Renamed Status'`, nil, 1},
			} {
				if got := one.count(q.q, q.args...); got != q.want {
					t.Errorf("%s %v = %d, want %d", q.q, q.args, got, q.want)
				}
			}
			if collide {
				// The same ids in the first organization did not move.
				for _, q := range []string{`SELECT count(*) FROM close.contacts WHERE id = ? AND organization_id = ? AND _deleted_at IS NULL`,
					`SELECT count(*) FROM close.leads WHERE id = ? AND organization_id = ? AND name <> 'Renamed In Other'`} {
					id := contact
					if strings.Contains(q, "leads") {
						id = lead
					}
					if got := one.count(q, id, orgOne); got != 1 {
						t.Errorf("%s [%s %s] = %d: the first organization's row changed with the other's", q, id, orgOne, got)
					}
				}
			}

			// A lead deleted in the first organization without the event
			// log telling (reconcile finds it).
			gone := one.fake.IDs("lead")[5]
			if err := one.fake.Delete("lead", gone); err != nil {
				t.Fatal(err)
			}
			one.sync("--reconcile")
			// Reconcile lists the reports whose objects Close deletes; the
			// event log has news of the deletion only for the next sync.
			check("after reconcile", func(r *extract.Report) bool { return extract.Root(r).Reconcilable() })
			if got := one.count(`SELECT count(*) FROM close.leads WHERE id = ? AND organization_id = ? AND _deleted_at IS NOT NULL`, gone, orgOne); got != 1 {
				t.Errorf("the lead deleted in the first organization is not marked")
			}
			if collide {
				if got := one.count(`SELECT count(*) FROM close.leads WHERE id = ? AND organization_id = ? AND _deleted_at IS NULL`, gone, orgOther); got != 1 {
					t.Errorf("the other organization's lead %s was marked with the first's", gone)
				}
			}
			// No further sync: the event log's news of this deletion takes
			// the path of the contact deleted in the other organization above,
			// whose id stays live in this one.
		})
	}
}
