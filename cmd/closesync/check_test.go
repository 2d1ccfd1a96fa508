package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
)

// checkReports covers every way a report is read: offset lists, the event
// log's cursor, search, objects with {organization_id}, a {user_id}
// parameter, single-page statuses and a daily reporting endpoint.
var checkReports = []string{"leads", "contacts", "opportunities", "users", "lead_statuses", "event_log", "organizations",
	"users_self", "users_self_email_accounts", "custom_fields", "custom_objects", "activities", "reporting_activity", "leads_contacts"}

// TestValidateCheck: validate --check names whose key it is, warns about a
// non-admin key (exit 0), and lists every report a key cannot read (exit
// 2), one request per distinct endpoint and nothing synced.
func TestValidateCheck(t *testing.T) {
	identity := regexp.MustCompile(`(?m)^accounts main: key of \S+ \S+ <[^@>]+@example\.com> in organization "Demo Org" \(orga_\w+\), role (\w+) \(http://127\.0\.0\.1:\d+/api/v1\)$`)
	for _, c := range []struct {
		name     string
		opts     closefake.Options
		key      string // default: the fake's
		code     int
		role     string
		want     []string // lines of stdout or stderr, in order
		wantNot  []string
		requests int64 // at most (/me/, /organization/, one per endpoint, the daily report two), 0: no bound
	}{
		{name: "an admin key that reads everything", code: exitOK, role: "admin",
			want:    []string{"jobs core: the key reads all 13 reports (", ": ok (1 accounts, 1 jobs)"},
			wantNot: []string{"warning:", "cannot read"}, requests: 2 + 18 + 1},
		{name: "denied reports", opts: closefake.Options{Deny: map[string]int{"/user/": 403, "/opportunity/": 402, "/event/": 400, "/custom_field/shared/": 403}},
			code: exitUsage, role: "admin",
			want: []string{
				"jobs core: report opportunities: cannot read: GET /opportunity/: 402 Payment Required: Your plan does not include this feature.",
				"jobs core: report users: cannot read: GET /user/: 403 Forbidden: You don't have permission to access this resource.",
				"jobs core: report event_log: cannot read: GET /event/: 400 Bad Request: You don't have access to the event log.",
				"jobs core: report custom_fields: cannot read: GET /custom_field/shared/: 403 Forbidden",
				"closesync validate: --check: 4 problems with the keys of 1 account (above)"},
			wantNot: []string{"report leads:", "report contacts:", "warning:", ": ok ("}},
		{name: "a non-admin key", opts: closefake.Options{MeRole: "user"}, code: exitOK, role: "user",
			want: []string{"warning: accounts main: ", " is not an admin of \"Demo Org\" (role user): for non-admins Close keeps the event log's data and previous_data for one hour only",
				"jobs core: the key reads all 13 reports", ": ok (1 accounts, 1 jobs)"}},
		{name: "a rejected key", key: "api_wrong000000000000000000", code: exitUsage,
			want:    []string{"accounts main: API key rejected by Close for account main (401 Unauthorized)", "--check: 1 problem with the keys of 1 account"},
			wantNot: []string{"jobs core:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.opts, checkReports...)
			if c.key != "" {
				h.config = h.writeConfig(c.key, checkReports)
			}
			code, out, errOut := h.run("validate", "--config", h.config, "--check")
			all := out + errOut
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
			if c.role != "" {
				m := identity.FindStringSubmatch(out)
				if m == nil || m[1] != c.role {
					t.Errorf("no identity line with role %s", c.role)
				}
			}
			at := 0
			for _, w := range c.want {
				i := strings.Index(all[at:], w)
				if i < 0 {
					t.Errorf("output lacks %q (in order)", w)
					continue
				}
				at += i + len(w)
			}
			for _, w := range c.wantNot {
				if strings.Contains(all, w) {
					t.Errorf("output has %q", w)
				}
			}
			if strings.Contains(all, closefake.DefaultAPIKey) || strings.Contains(all, "api_wrong") {
				t.Errorf("the key was printed")
			}
			if c.requests > 0 && h.fake.Requests() > c.requests {
				t.Errorf("%d requests, want at most %d: one per distinct endpoint", h.fake.Requests(), c.requests)
			}
			if _, err := os.Stat(h.db); err == nil {
				t.Errorf("--check created the database: it must not sync")
			}
			if t.Failed() || testing.Verbose() {
				t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			}
		})
	}
}
