// Package webhook is the near-real-time path: Close webhook subscriptions
// made and removed for the daemon, the signature of each delivery checked
// (close-sig-hash: the hex HMAC-SHA256 of close-sig-timestamp followed by
// the body, keyed by the subscription's hex signature_key), and a
// debounced incremental run of the jobs that sync the delivered object's
// type. Polling stays the source of truth: a delivery lost or refused
// costs latency, never data.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Signature headers of a delivery.
const (
	HeaderHash      = "close-sig-hash"
	HeaderTimestamp = "close-sig-timestamp"
)

// MaxAge is how far a delivery's timestamp may be from now: an older one
// is refused as a replay.
const MaxAge = 5 * time.Minute

// maxBody bounds a delivery's body.
const maxBody = 1 << 20

// Sign is the close-sig-hash of body sent at timestamp (unix seconds) with
// the hex signature key.
func Sign(key, timestamp string, body []byte) (string, error) {
	k, err := hex.DecodeString(key)
	if err != nil || len(k) == 0 {
		return "", errors.New("the signature key is not hex")
	}
	m := hmac.New(sha256.New, k)
	m.Write([]byte(timestamp))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil)), nil
}

// Verify checks a delivery's signature and that its timestamp is within
// MaxAge of now.
func Verify(key, timestamp, hash string, body []byte, now time.Time) error {
	if timestamp == "" || hash == "" {
		return errors.New("no " + HeaderHash + " or " + HeaderTimestamp + " header")
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%s %q is not unix seconds", HeaderTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxAge || d < -MaxAge {
		return fmt.Errorf("%s is %s from now (at most %s)", HeaderTimestamp, d.Round(time.Second), MaxAge)
	}
	want, err := Sign(key, timestamp, body)
	if err != nil {
		return err
	}
	got, err := hex.DecodeString(strings.ToLower(strings.TrimSpace(hash)))
	if err != nil {
		return fmt.Errorf("%s is not hex", HeaderHash)
	}
	w, _ := hex.DecodeString(want)
	if !hmac.Equal(got, w) {
		return errors.New("the signature does not match")
	}
	return nil
}

// Delivery is what Close POSTs: the subscription and an event of the
// event log.
type Delivery struct {
	SubscriptionID string `json:"subscription_id"`
	Event          struct {
		ID         string `json:"id"`
		ObjectType string `json:"object_type"`
		Action     string `json:"action"`
		ObjectID   string `json:"object_id"`
	} `json:"event"`
}

// ObjectTypes are the Close event object types whose changes a report's
// rows follow, for the reports that have them; a subscription asks for
// their created, updated and deleted events.
var ObjectTypes = map[string][]string{
	"leads":         {"lead", "contact", "opportunity", "task.lead"},
	"contacts":      {"contact"},
	"opportunities": {"opportunity"},
	"tasks":         {"task.lead"},
	"activities":    {"activity.call", "activity.email", "activity.note", "activity.meeting", "activity.sms"},
}

// Actions a subscription asks for, per object type.
var Actions = []string{"created", "updated", "deleted"}

// Target is what a delivery for an account may start: the jobs whose
// reports follow each object type.
type Target struct {
	Key  string              // the subscription's signature key (hex)
	Jobs map[string][]string // object type -> jobs to run
}

// Runner starts a job's incremental run; an error that matches ErrBusy
// means it is running now (the receiver tries again a little later).
type Runner func(job string) error

// ErrBusy says a job is running.
var ErrBusy = errors.New("the job is running")

// Receiver is the http.Handler deliveries come to, at <path>/<account>:
// it checks each one, answers at once, and runs the jobs of the object's
// type once no delivery for them has come for Debounce.
type Receiver struct {
	Path     string // the URL path before /<account>, e.g. /close-webhooks
	Debounce time.Duration
	Log      *zap.Logger

	mu      sync.Mutex
	targets map[string]Target // account -> its subscription
	run     Runner
	timers  map[string]*time.Timer
	stopped bool
}

// Set replaces the accounts' targets and the runner (at start and on
// reload).
func (rc *Receiver) Set(targets map[string]Target, run Runner) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.targets, rc.run = targets, run
}

// SetRunner replaces the runner (a reloaded scheduler).
func (rc *Receiver) SetRunner(run Runner) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.run = run
}

// Stop cancels the runs not yet started.
func (rc *Receiver) Stop() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.stopped = true
	for _, t := range rc.timers {
		t.Stop()
	}
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	account, ok := strings.CutPrefix(r.URL.Path, strings.TrimSuffix(rc.Path, "/")+"/")
	if r.Method != http.MethodPost || !ok || account == "" || strings.Contains(account, "/") {
		http.Error(w, "POST deliveries to "+rc.Path+"/<account>", http.StatusNotFound)
		return
	}
	rc.mu.Lock()
	target, known := rc.targets[account]
	rc.mu.Unlock()
	if !known {
		http.Error(w, "no subscription for this account", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		http.Error(w, "the body is unreadable or larger than 1 MiB", http.StatusBadRequest)
		return
	}
	if err := Verify(target.Key, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderHash), body, time.Now()); err != nil {
		rc.Log.Warn("webhook delivery refused", zap.String("account", account), zap.String("remote", r.RemoteAddr), zap.Error(err))
		http.Error(w, "signature refused", http.StatusUnauthorized)
		return
	}
	var d Delivery
	if err := json.Unmarshal(body, &d); err != nil || d.Event.ObjectType == "" {
		http.Error(w, "not a Close event delivery", http.StatusBadRequest)
		return
	}
	jobs := target.Jobs[d.Event.ObjectType]
	rc.Log.Debug("webhook delivery", zap.String("account", account), zap.String("event", d.Event.ID),
		zap.String("object_type", d.Event.ObjectType), zap.String("action", d.Event.Action), zap.Strings("jobs", jobs))
	for _, job := range jobs {
		rc.schedule(job, rc.Debounce)
	}
	w.WriteHeader(http.StatusOK)
}

// schedule runs job after delay, unless another delivery for it comes
// first (which pushes it back); a busy job is tried again after it.
func (rc *Receiver) schedule(job string, delay time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.stopped {
		return
	}
	if rc.timers == nil {
		rc.timers = map[string]*time.Timer{}
	}
	if t := rc.timers[job]; t != nil {
		t.Stop()
	}
	rc.timers[job] = time.AfterFunc(delay, func() { rc.fire(job) })
}

// fire starts job; busy, it tries again a second later (a run already
// going reads the change, or the next one does).
func (rc *Receiver) fire(job string) {
	rc.mu.Lock()
	run, stopped := rc.run, rc.stopped
	rc.mu.Unlock()
	if stopped || run == nil {
		return
	}
	err := run(job)
	switch {
	case errors.Is(err, ErrBusy):
		rc.schedule(job, time.Second)
	case err != nil:
		rc.Log.Warn("webhook: the job did not start", zap.String("job", job), zap.Error(err))
	default:
		rc.Log.Info("webhook: job started", zap.String("job", job))
	}
}

// Client is the part of closeapi.Client subscriptions need.
type Client interface {
	Get(ctx context.Context, path string, q url.Values, out any) error
	Change(ctx context.Context, method, path string, body, out any) error
}

// Subscription is a webhook subscription as Close returns it.
type Subscription struct {
	ID           string `json:"id"`
	URL          string `json:"url"`
	SignatureKey string `json:"signature_key"`
}

// Subscribe creates a subscription to the created, updated and deleted
// events of objectTypes, delivered to url.
func Subscribe(ctx context.Context, c Client, url string, objectTypes []string) (Subscription, error) {
	var events []map[string]string
	for _, t := range objectTypes {
		for _, a := range Actions {
			events = append(events, map[string]string{"object_type": t, "action": a})
		}
	}
	var s Subscription
	if err := c.Change(ctx, http.MethodPost, "/webhook/", map[string]any{"url": url, "events": events, "verify_ssl": true}, &s); err != nil {
		return Subscription{}, fmt.Errorf("create the webhook subscription for %s: %w", url, err)
	}
	if s.ID == "" || s.SignatureKey == "" {
		return Subscription{}, fmt.Errorf("create the webhook subscription for %s: the answer has no id or signature_key", url)
	}
	return s, nil
}

// Unsubscribe deletes the subscription id.
func Unsubscribe(ctx context.Context, c Client, id string) error {
	if err := c.Change(ctx, http.MethodDelete, "/webhook/"+id+"/", nil, nil); err != nil {
		return fmt.Errorf("delete the webhook subscription %s: %w", id, err)
	}
	return nil
}

// RemoveAll deletes every subscription of the account whose URL starts
// with prefix (what closesync made), returning their ids.
func RemoveAll(ctx context.Context, c Client, prefix string) ([]string, error) {
	var page struct {
		Data []Subscription `json:"data"`
	}
	if err := c.Get(ctx, "/webhook/", nil, &page); err != nil {
		return nil, fmt.Errorf("list the webhook subscriptions: %w", err)
	}
	var removed []string
	for _, s := range page.Data {
		if !strings.HasPrefix(s.URL, prefix) {
			continue
		}
		if err := Unsubscribe(ctx, c, s.ID); err != nil {
			return removed, err
		}
		removed = append(removed, s.ID)
	}
	return removed, nil
}
