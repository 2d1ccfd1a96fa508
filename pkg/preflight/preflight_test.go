package preflight

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/schedule"
)

// TestCheck: a key that reads every report passes and says whose it is; a
// report the key cannot read is named, and the error is ErrRefused.
func TestCheck(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		deny    map[string]int
		refused bool
		want    []string
	}{
		{"reads all", nil, false, []string{`in organization "Demo Org"`, "jobs core: the key reads all 3 reports ("}},
		{"a denied report", map[string]int{"/user/": 403}, true,
			[]string{"jobs core: report users: cannot read: GET /user/: 403 Forbidden", "--check: 1 problem with the keys of 1 account"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(closefake.New(closefake.Options{Seed: 1, Scale: 5, Deny: c.deny}))
			defer srv.Close()
			cfg := &config.Config{
				Accounts: []config.Account{{Name: "main", BaseURL: srv.URL + "/api/v1"}},
				Jobs:     []config.Job{{Name: "core", Account: "main", Reports: []config.ReportRef{{Name: "leads"}, {Name: "users"}, {Name: "lead_statuses"}}}},
			}
			jobs, err := schedule.Jobs(cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			client, err := closeapi.New(closeapi.Config{Account: "main", BaseURL: cfg.Accounts[0].BaseURL, APIKey: closefake.DefaultAPIKey, MaxConcurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			err = Check(context.Background(), &out, cfg.Accounts, jobs, func(string) *closeapi.Client { return client })
			if errors.Is(err, ErrRefused) != c.refused {
				t.Errorf("error %v, refused: %v", err, c.refused)
			}
			all := out.String()
			if err != nil {
				all += err.Error()
			}
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q:\n%s", w, all)
				}
			}
		})
	}
}
