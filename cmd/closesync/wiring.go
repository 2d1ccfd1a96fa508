package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	closesync "github.com/closesync/closesync"
	"github.com/closesync/closesync/internal/systemd"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/schedule"
)

// loadConfig loads and validates the config of a command that calls Close
// (every account's key must be readable); any problem is a usage error
// (exit 2) listing every problem with its key path.
func loadConfig(path string) (*config.Config, error) {
	return loadConfigFor(path, config.Needs{Keys: true})
}

// loadConfigFor is loadConfig for a command that needs what needs says
// (history and offline validate need no key).
func loadConfigFor(path string, needs config.Needs) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config is required")
	}
	// Unknown keys, wrong types and bad values, all in one pass.
	cfg, err := config.Check(path, extract.Names(), needs)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// newLogger builds the process logger: console on a terminal or when the
// config says so, JSON (for journald) otherwise. On journald's stream
// ($JOURNAL_STREAM) each line carries its syslog priority prefix.
func newLogger(level, format string, e *env) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, usagef("log.level: %v", err)
	}
	var enc zapcore.Encoder
	if format == "auto" || format == "" {
		// Console for a person at a terminal; JSON for journald and files.
		format = "json"
		if isTerminal(e.stderr) {
			format = "console"
		}
	}
	if format == "json" {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("2006-01-02T15:04:05.000Z07:00")
		if isTerminal(e.stderr) {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	}
	if systemd.JournalStream(e.stderr, e.getenv) {
		enc = systemd.JournalEncoder{Encoder: enc}
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(e.stderr), zap.NewAtomicLevelAt(lvl))), nil
}

// startLogger builds the logger the config asks for and logs the config's
// warnings with it. The caller syncs it.
func startLogger(cfg *config.Config, e *env) (*zap.Logger, error) {
	log, err := newLogger(cfg.Log.Level, cfg.Log.Format, e)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	return log, nil
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// clients builds one Close client per account; accounts sharing an API key
// share one rate-limit budget.
type clients struct {
	byAccount map[string]*closeapi.Client
	orgs      map[string]*orgOnce
}

// orgOnce caches an account's organization as /me/ tells it: one request
// per client, retried on the next call only if it failed.
type orgOnce struct {
	mu sync.Mutex
	id string
}

// organization returns the discovery of the account's Close organization
// (the first of /me/'s organizations: a key belongs to one), for the
// jobs that set no organization_id.
func (cs *clients) organization(account string) func(ctx context.Context) (string, error) {
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

// withOrganizations lets each job discover its account's organization.
func (cs *clients) withOrganizations(jobs []schedule.Job) {
	for i := range jobs {
		jobs[i].Organization = cs.organization(jobs[i].Account)
	}
}

// apiObserver receives every Close API response (the status endpoint's
// metrics).
type apiObserver interface {
	APIResponse(account, group string, status int, rl closeapi.RateLimit, hasRL bool)
}

func newClients(cfg *config.Config, log *zap.Logger, obs apiObserver) (*clients, error) {
	budgets := map[string]*closeapi.Budget{}
	cs := &clients{byAccount: map[string]*closeapi.Client{}, orgs: map[string]*orgOnce{}}
	for _, a := range cfg.Accounts {
		key, err := a.ResolveKey()
		if err != nil {
			return nil, usageError{err} // names the account and the key source, never the key
		}
		b, ok := budgets[key]
		if !ok {
			b = closeapi.NewBudget(a.MaxConcurrency)
			budgets[key] = b
		}
		var onResponse func(string, int, closeapi.RateLimit, bool)
		if obs != nil {
			account := a.Name
			onResponse = func(group string, status int, rl closeapi.RateLimit, hasRL bool) {
				obs.APIResponse(account, group, status, rl, hasRL)
			}
		}
		c, err := closeapi.New(closeapi.Config{
			Account: a.Name, BaseURL: a.BaseURL, APIKey: key, MaxConcurrency: a.MaxConcurrency,
			Budget: b, UserAgent: "closesync", Logger: log.With(zap.String("account", a.Name)), OnResponse: onResponse,
		})
		if err != nil {
			return nil, usageError{fmt.Errorf("account %q: %w", a.Name, err)}
		}
		cs.byAccount[a.Name] = c
		cs.orgs[a.Name] = &orgOnce{}
	}
	return cs, nil
}

func (cs *clients) extractor(account string) (schedule.ExtractFunc, error) {
	c, ok := cs.byAccount[account]
	if !ok {
		return nil, fmt.Errorf("no account named %q", account)
	}
	return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
		return extract.Extract(ctx, c, req, emit)
	}, nil
}

// resolveJobs is schedule.Jobs: the config's jobs, filtered.
func resolveJobs(cfg *config.Config, onlyJobs, onlyReports []string) ([]schedule.Job, error) {
	return schedule.Jobs(cfg, onlyJobs, onlyReports)
}

func openStore(ctx context.Context, cfg *config.Config, log *zap.Logger) (*load.Store, error) {
	return load.Open(ctx, load.Options{Path: cfg.Database, Schema: cfg.Schema, Migrations: closesync.SQL, Logger: log,
		LockTimeout: cfg.LockTimeout})
}
