package accounts

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schedule"
)

// TestOrganizationIsAskedOnce: each account's organization comes from
// /me/, asked once however many jobs ask; an unknown account has no
// client; an unreadable key is a usage error.
func TestOrganizationIsAskedOnce(t *testing.T) {
	t.Parallel()
	fake := closefake.New(closefake.Options{Seed: 1, Scale: 5})
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg := &config.Config{Accounts: []config.Account{
		{Name: "a", APIKey: config.Secret(closefake.DefaultAPIKey), BaseURL: srv.URL + "/api/v1", MaxConcurrency: 2},
		{Name: "b", APIKey: config.Secret(closefake.DefaultAPIKey), BaseURL: srv.URL + "/api/v1", MaxConcurrency: 2},
	}}
	cs, err := New(cfg, closeapi.NewBudgets(), zap.NewNop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs := []pipeline.Job{{Name: "j1", Account: "a"}, {Name: "j2", Account: "a"}, {Name: "j3", Account: "b"}}
	cs.WithOrganizations(jobs)
	before := fake.Requests()
	var orgs []string
	for _, j := range jobs {
		org, err := j.Organization(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		orgs = append(orgs, org)
	}
	if orgs[0] == "" || orgs[0] != orgs[1] || orgs[1] != orgs[2] {
		t.Errorf("organizations %q: want one, the fake's", orgs)
	}
	if n := fake.Requests() - before; n != 2 {
		t.Errorf("%d requests, want one /me/ per account (2)", n)
	}
	if cs.Client("nope") != nil || cs.Organization("nope") != nil {
		t.Errorf("an unknown account has a client")
	}
	if _, err := cs.Extractor("nope"); err == nil {
		t.Errorf("an unknown account has an extractor")
	}
	bad := &config.Config{Accounts: []config.Account{{Name: "c", APIKeyEnv: "CLOSESYNC_TEST_UNSET_KEY"}}}
	if _, err := New(bad, closeapi.NewBudgets(), zap.NewNop(), nil); !errors.Is(err, schedule.ErrUsage) {
		t.Errorf("an unreadable key: %v, want a usage error", err)
	}
}
