// Package accounts builds the Close clients of the configured accounts:
// one per account, one rate-limit budget per API key, and the discovery of
// each account's organization from /me/.
package accounts

import (
	"context"
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schedule"
)

// Clients holds one Close client per account; accounts sharing an API key
// share one rate-limit budget.
type Clients struct {
	byAccount map[string]*closeapi.Client
	orgs      map[string]*orgOnce
}

// orgOnce caches an account's organization as /me/ tells it: one request
// per client, retried on the next call only if it failed.
type orgOnce struct {
	mu sync.Mutex
	id string
}

// Organization returns the discovery of the account's Close organization
// (the first of /me/'s organizations: a key belongs to one), for the
// jobs that set no organization_id.
func (cs *Clients) Organization(account string) func(ctx context.Context) (string, error) {
	c, o := cs.byAccount[account], cs.orgs[account]
	if c == nil || o == nil {
		return nil
	}
	return func(ctx context.Context) (string, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.id != "" {
			return o.id, nil
		}
		var me struct {
			Organizations []struct {
				ID string `json:"id"`
			} `json:"organizations"`
		}
		if err := c.Get(ctx, "/me/", nil, &me); err != nil {
			return "", fmt.Errorf("GET /me/: %w", err)
		}
		if len(me.Organizations) > 0 {
			o.id = me.Organizations[0].ID
		}
		return o.id, nil
	}
}

// WithOrganizations lets each job discover its account's organization.
func (cs *Clients) WithOrganizations(jobs []pipeline.Job) {
	for i := range jobs {
		jobs[i].Organization = cs.Organization(jobs[i].Account)
	}
}

// Observer receives every Close API response (the status endpoint's
// metrics).
type Observer interface {
	APIResponse(account, group string, status, remaining int, hasRemaining bool)
}

// New builds the clients of cfg's accounts, their rate-limit budgets taken
// from registry (one per API key, kept across reloads: the process makes
// one registry); obs, if not nil, sees every response. A key that cannot be
// read or a bad account is a usage error (schedule.ErrUsage).
func New(cfg *config.Config, registry *closeapi.Budgets, log *zap.Logger, obs Observer) (*Clients, error) {
	budgets := map[string]*closeapi.Budget{}
	cs := &Clients{byAccount: map[string]*closeapi.Client{}, orgs: map[string]*orgOnce{}}
	for _, a := range cfg.Accounts {
		key, err := a.ResolveKey()
		if err != nil {
			return nil, schedule.Usage(err) // names the account and the key source, never the key
		}
		b, ok := budgets[key]
		if !ok {
			b = registry.For(key, a.MaxConcurrency)
			budgets[key] = b
		}
		var onResponse func(string, int, closeapi.RateLimit, bool)
		if obs != nil {
			account := a.Name
			onResponse = func(group string, status int, rl closeapi.RateLimit, hasRL bool) {
				obs.APIResponse(account, group, status, rl.Remaining, hasRL)
			}
		}
		c, err := closeapi.New(closeapi.Config{
			Account: a.Name, BaseURL: a.BaseURL, APIKey: key, MaxConcurrency: a.MaxConcurrency,
			Budget: b, UserAgent: "closesync", Logger: log.With(zap.String("account", a.Name)), OnResponse: onResponse,
		})
		if err != nil {
			return nil, schedule.Usage(fmt.Errorf("account %q: %w", a.Name, err))
		}
		cs.byAccount[a.Name] = c
		cs.orgs[a.Name] = &orgOnce{}
	}
	return cs, nil
}

// Extractor is the extraction of the account's reports.
func (cs *Clients) Extractor(account string) (pipeline.ExtractFunc, error) {
	c, ok := cs.byAccount[account]
	if !ok {
		return nil, fmt.Errorf("no account named %q", account)
	}
	return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
		return extract.Extract(ctx, c, req, emit)
	}, nil
}

// Planner gives the account's estimates of report runs (extract.PlanRun):
// Close's counts, for closesync verify.
func (cs *Clients) Planner(account string) (pipeline.PlanFunc, error) {
	c, ok := cs.byAccount[account]
	if !ok {
		return nil, fmt.Errorf("no account named %q", account)
	}
	return func(ctx context.Context, req extract.Request) (extract.Plan, error) {
		return extract.PlanRun(ctx, c, req)
	}, nil
}

// Client is the account's client; nil if there is no such account.
func (cs *Clients) Client(account string) *closeapi.Client { return cs.byAccount[account] }
