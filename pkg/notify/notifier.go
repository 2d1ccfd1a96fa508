package notify

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/retry"
	"github.com/closesync/closesync/pkg/runlog"
)

// Notifier delivers run summaries to one webhook from a single background
// goroutine, in the order they were queued. Its methods are safe for
// concurrent use, and a nil *Notifier is a valid no-op (notifications off).
type Notifier struct {
	cfg    Config
	url    *url.URL
	client *http.Client
	own    bool        // client is ours: Close closes its idle connections
	log    *zap.Logger // carries the URL's host, never the URL
	hooks  hooks

	// ctx is the delivery context, cancelled when Close gives up: it ends
	// the request in flight and any backoff sleep.
	ctx     context.Context
	abort   context.CancelFunc
	wake    chan struct{} // capacity 1: a message was queued
	closing chan struct{} // closed by Close: deliver what is queued, then stop
	done    chan struct{} // closed when the worker has returned

	mu     sync.Mutex
	queue  []pending // oldest first, at most cfg.QueueSize
	closed bool

	sent, failed, dropped atomic.Int64
	abandoned             atomic.Int64 // dropped in flight when Close gave up
}

// pending is an encoded message waiting for delivery.
type pending struct {
	event string
	runID int64
	key   string // Idempotency-Key
	body  []byte
}

// hooks let tests replace time: sleep waits d or until ctx is done, now is
// the wall clock (for Retry-After dates), jitter returns a value in [0, n).
type hooks struct {
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func(n int64) int64
}

// DroppedError is Close's error when it gave up before every queued
// message was delivered.
type DroppedError struct {
	Count int   // messages queued or in flight that were abandoned
	Err   error // why Close gave up: its context's error
}

func (e *DroppedError) Error() string {
	return fmt.Sprintf("notify: %d webhook messages dropped at close: %v", e.Count, e.Err)
}

func (e *DroppedError) Unwrap() error { return e.Err }

// New validates cfg and starts the delivery goroutine; Close stops it. A
// nil log discards logs. A nil client is a default one that does not
// follow redirects: net/http would forward the configured headers, which
// may hold secrets, to whatever host a redirect names, and turn the POST
// into a GET; a 3xx answer is therefore a permanent failure. A client
// passed in is used as is; Config.Timeout bounds each request through its
// context.
func New(cfg Config, log *zap.Logger, client *http.Client) (*Notifier, error) {
	return newNotifier(cfg, log, client, hooks{})
}

func newNotifier(cfg Config, log *zap.Logger, client *http.Client, h hooks) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("notify config: %w", err)
	}
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("notify config: url: %w", err)
	}
	cfg = cfg.withDefaults()
	cfg.On = slices.Clone(cfg.On)
	cfg.Headers = maps.Clone(cfg.Headers)
	if log == nil {
		log = zap.NewNop()
	}
	own := client == nil
	if own {
		client = defaultClient()
	}
	if h.sleep == nil {
		h.sleep = retry.Sleep
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.jitter == nil {
		h.jitter = rand.Int64N
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &Notifier{
		cfg:     cfg,
		url:     u,
		client:  client,
		own:     own,
		log:     log.With(zap.String("component", "notify"), zap.String("host", u.Host)),
		hooks:   h,
		ctx:     ctx,
		abort:   cancel,
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go n.run()
	return n, nil
}

func defaultClient() *http.Client {
	rt := http.DefaultTransport
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		rt = t.Clone()
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Notify queues the messages that Config.On asks for about one finished run
// and returns at once; delivery happens in the background and its failures
// are logged and counted, never returned. When the queue is full the oldest
// messages are dropped to make room. After Close, messages are dropped.
//
// What is sent:
//   - "failure": one run.failed when Status is anything but success (so
//     failed, cancelled, or an unexpected status);
//   - "success": one run.succeeded when Status is success;
//   - "changes": when ch holds ids, whatever the status (a failed run keeps
//     the batches it committed), run.changes messages of at most
//     ChangesBatch ids each, created then updated then deleted ids in
//     order, numbered by their batch index and count.
//
// The outcome message is queued before the changes.
func (n *Notifier) Notify(s runlog.Run, ch Changes) {
	if n == nil {
		return
	}
	n.enqueue(s, messages(n.cfg.On, n.cfg.ChangesBatch, s, ch))
}

// NotifySchema queues a schema.changed message about the schema changes
// run s recorded, whatever Config.On says: it is sent whenever notify is
// configured. No changes, no message.
func (n *Notifier) NotifySchema(s runlog.Run, changes []SchemaChange) {
	if n == nil || len(changes) == 0 {
		return
	}
	n.enqueue(s, []Message{{Event: EventSchemaChanged, ID: idempotencyKey(s, EventSchemaChanged, 0), Run: wireRun(s),
		SchemaChanges: changes}})
}

// enqueue encodes msgs and queues them for the worker, dropping the
// oldest queued when the queue is full.
func (n *Notifier) enqueue(s runlog.Run, msgs []Message) {
	if len(msgs) == 0 {
		return
	}
	ps := make([]pending, 0, len(msgs))
	for _, m := range msgs {
		body, err := encode(m)
		if err != nil {
			n.dropped.Add(1)
			n.log.Error("webhook message not encoded, dropped", zap.String("event", m.Event), zap.Int64("run_id", s.ID), zap.Error(err))
			continue
		}
		ps = append(ps, pending{event: m.Event, runID: s.ID, key: m.ID, body: body})
	}

	n.mu.Lock()
	if n.closed {
		n.dropped.Add(int64(len(ps)))
		n.mu.Unlock()
		n.log.Warn("webhook notifier closed, messages dropped", zap.Int64("run_id", s.ID), zap.Int("dropped", len(ps)))
		return
	}
	var lost []pending
	for _, p := range ps {
		if len(n.queue) >= n.cfg.QueueSize {
			lost = append(lost, n.queue[0])
			n.queue[0] = pending{}
			n.queue = n.queue[1:]
		}
		n.queue = append(n.queue, p)
	}
	n.dropped.Add(int64(len(lost)))
	n.mu.Unlock()

	select {
	case n.wake <- struct{}{}:
	default: // the worker is already due to look at the queue
	}
	if len(lost) > 0 {
		// One line per call, not per message: a hung endpoint would
		// otherwise turn a large changes set into a log flood.
		n.log.Warn("webhook queue full, oldest messages dropped", zap.Int("dropped", len(lost)),
			zap.String("oldest_event", lost[0].event), zap.Int64("oldest_run_id", lost[0].runID),
			zap.Int("queue_size", n.cfg.QueueSize), zap.Int64("dropped_total", n.dropped.Load()))
	}
}

// Close stops accepting messages and delivers those queued until ctx is
// done. It then abandons the rest, the message in flight included (its
// request and any backoff sleep end at once), and returns a *DroppedError
// saying how many were dropped, which wraps ctx's error. It returns nil
// when everything queued was delivered or failed for good (see Stats).
// Close returns once the delivery goroutine has stopped. Only the first
// call does anything; later ones return nil.
func (n *Notifier) Close(ctx context.Context) error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	close(n.closing)

	var cause error
	select {
	case <-n.done:
	case <-ctx.Done():
		cause = ctx.Err()
		n.abort()
		<-n.done // prompt: the worker's request and sleeps watch n.ctx
	}
	n.abort()
	if n.own {
		n.client.CloseIdleConnections()
	}

	n.mu.Lock()
	left := len(n.queue)
	n.queue = nil
	n.dropped.Add(int64(left))
	n.mu.Unlock()
	lost := left + int(n.abandoned.Load())
	if lost == 0 {
		return nil
	}
	n.log.Warn("webhook messages dropped at close", zap.Int("dropped", lost), zap.Error(cause))
	return &DroppedError{Count: lost, Err: cause}
}

// Stats returns how many messages were delivered (2xx), failed for good
// (a permanent 4xx or 3xx, or every attempt spent), and were dropped
// (queue overflow, queued after Close, or abandoned by Close).
func (n *Notifier) Stats() (sent, failed, dropped int64) {
	if n == nil {
		return 0, 0, 0
	}
	return n.sent.Load(), n.failed.Load(), n.dropped.Load()
}

// run is the delivery goroutine, owned by Close.
func (n *Notifier) run() {
	defer close(n.done)
	for {
		p, ok := n.next()
		if !ok {
			return
		}
		n.deliver(p)
	}
}

// next waits for the oldest queued message. It reports false once Close
// was called and the queue is empty, or once Close gave up.
func (n *Notifier) next() (pending, bool) {
	for {
		if n.ctx.Err() != nil {
			return pending{}, false
		}
		n.mu.Lock()
		if len(n.queue) > 0 {
			p := n.queue[0]
			n.queue[0] = pending{}
			n.queue = n.queue[1:]
			n.mu.Unlock()
			return p, true
		}
		closed := n.closed
		n.mu.Unlock()
		if closed {
			return pending{}, false
		}
		select {
		case <-n.wake:
		case <-n.closing:
		case <-n.ctx.Done():
		}
	}
}
