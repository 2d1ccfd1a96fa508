package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/webhook"
)

// cmdWebhooks is closesync webhooks remove: it deletes, for every account,
// the Close webhook subscriptions whose URL starts with webhooks.public_url
// (those closesync run made), such as one a killed daemon could not
// remove. The daemon removes its own when it stops.
func cmdWebhooks(ctx context.Context, args []string, e *env) error {
	fs := newFlags("webhooks", "remove --config FILE", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	remove := len(args) > 0 && args[0] == "remove"
	if remove {
		args = args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !remove {
		return usagef("say what to do with the webhook subscriptions: closesync webhooks remove --config FILE")
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(cfg.Webhooks.PublicURL, "/") + "/"
	if cfg.Webhooks.PublicURL == "" {
		return usagef("%s sets no webhooks.public_url: there is nothing of closesync's to remove", *cfgPath)
	}
	cs, err := accounts.New(cfg, closeapi.NewBudgets(), zap.NewNop(), nil)
	if err != nil {
		return err
	}
	failed := false
	for _, a := range cfg.Accounts {
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		removed, err := webhook.RemoveAll(actx, cs.Client(a.Name), prefix)
		cancel()
		for _, id := range removed {
			fmt.Fprintf(e.stdout, "account %s: removed the webhook subscription %s\n", a.Name, id)
		}
		if err != nil {
			fmt.Fprintf(e.stdout, "account %s: %v\n", a.Name, err)
			failed = true
			continue
		}
		if len(removed) == 0 {
			fmt.Fprintf(e.stdout, "account %s: no webhook subscription to %s*\n", a.Name, prefix)
		}
	}
	if failed {
		return errFailed
	}
	return nil
}
