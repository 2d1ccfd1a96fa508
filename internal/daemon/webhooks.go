package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schedule"
	"github.com/closesync/closesync/pkg/webhook"
)

// webhooks is the near-real-time path, an actor of the daemon's run group:
// the subscriptions it made at start (one per account whose jobs sync an
// object type Close sends webhooks for), the listener deliveries come to,
// and the receiver that runs the jobs. The subscriptions are removed when
// it stops; a reload keeps them and changes only which scheduler runs.
type webhooks struct {
	log      *zap.Logger
	srv      *http.Server
	ln       net.Listener
	receiver *webhook.Receiver
	subs     map[string]webhook.Subscription // account -> its subscription
	clients  *accounts.Clients
	stopped  chan struct{}
}

// startWebhooks subscribes the accounts and listens; a failure removes the
// subscriptions made so far.
func startWebhooks(ctx context.Context, cfg *config.Config, budgets *closeapi.Budgets, log *zap.Logger, sched *schedule.Scheduler) (_ *webhooks, err error) {
	wc := cfg.Webhooks
	cs, err := accounts.New(cfg, budgets, log, nil)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(wc.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("webhooks.public_url: %w", err)
	}
	debounce := wc.Debounce
	if debounce == 0 {
		debounce = config.DefaultWebhookDebounce
	}
	w := &webhooks{log: log, subs: map[string]webhook.Subscription{}, clients: cs, stopped: make(chan struct{}),
		receiver: &webhook.Receiver{Path: u.Path, Debounce: debounce, Log: log}}
	defer func() {
		if err != nil {
			w.unsubscribe()
		}
	}()
	targets := map[string]webhook.Target{}
	for _, a := range cfg.Accounts {
		jobs := map[string][]string{}
		for _, j := range cfg.Jobs {
			if j.Account != a.Name {
				continue
			}
			for _, r := range j.Reports {
				for _, t := range webhook.ObjectTypes[r.Name] {
					if !slices.Contains(jobs[t], j.Name) {
						jobs[t] = append(jobs[t], j.Name)
					}
				}
			}
		}
		if len(jobs) == 0 {
			continue
		}
		types := make([]string, 0, len(jobs))
		for t := range jobs {
			types = append(types, t)
		}
		slices.Sort(types)
		target := strings.TrimSuffix(wc.PublicURL, "/") + "/" + a.Name
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		sub, err := webhook.Subscribe(sctx, cs.Client(a.Name), target, types)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", a.Name, err)
		}
		w.subs[a.Name] = sub
		targets[a.Name] = webhook.Target{Key: sub.SignatureKey, Jobs: jobs}
		log.Info("webhook subscription made", zap.String("account", a.Name), zap.String("subscription", sub.ID),
			zap.String("url", target), zap.Strings("object_types", types))
	}
	w.receiver.Set(targets, runnerOf(sched))
	ln, err := net.Listen("tcp", wc.Listen)
	if err != nil {
		return nil, fmt.Errorf("webhooks.listen %s: %w", wc.Listen, err)
	}
	w.ln = ln
	w.srv = &http.Server{Handler: w.receiver, ReadHeaderTimeout: 10 * time.Second}
	log.Info("webhook listener listening", zap.String("addr", ln.Addr().String()))
	return w, nil
}

// runnerOf runs a job of sched for a delivery.
func runnerOf(sched *schedule.Scheduler) webhook.Runner {
	return func(job string) error {
		err := sched.RunNow(job, runlog.Webhook)
		if errors.Is(err, schedule.ErrRunning) {
			return webhook.ErrBusy
		}
		return err
	}
}

// setScheduler makes deliveries run the jobs of sched (after a reload).
func (w *webhooks) setScheduler(sched *schedule.Scheduler) {
	w.receiver.SetRunner(runnerOf(sched))
}

func (w *webhooks) execute() error {
	if err := w.srv.Serve(w.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		// The daemon runs on, polling.
		w.log.Error("webhook listener stopped", zap.Error(err))
		<-w.stopped
	}
	return nil
}

func (w *webhooks) interrupt(error) {
	w.receiver.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_ = w.srv.Shutdown(ctx)
	cancel()
	w.unsubscribe()
	close(w.stopped)
}

// unsubscribe removes the subscriptions made; one that cannot be removed
// is logged (closesync webhooks remove removes it later).
func (w *webhooks) unsubscribe() {
	for account, sub := range w.subs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := webhook.Unsubscribe(ctx, w.clients.Client(account), sub.ID)
		cancel()
		if err != nil {
			w.log.Error("webhook subscription not removed: run closesync webhooks remove", zap.String("account", account),
				zap.String("subscription", sub.ID), zap.Error(err))
			continue
		}
		w.log.Info("webhook subscription removed", zap.String("account", account), zap.String("subscription", sub.ID))
		delete(w.subs, account)
	}
}
