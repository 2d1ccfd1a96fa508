package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
)

// When a job runs reports at once, its first report sends its requests
// alone until it has shown the account works (read a page) or ended, so
// that a dead key or an unreachable API fails one report and skips the
// others, as one after another would (eachReport). The others start beside
// it and set up while it waits for its first answer: their run rows,
// tables and bookmarks need no request. They set up one after another in
// the order they started, each once the one before is about to send (its
// set-up done) or the first has answered, so that the heaviest, which
// start first, are ready first and the store is not fought over. Each then
// waits for the first's answer before its first request (awaitTurn: in the
// walk once its table and bookmark are ready; in a verify or reconcile run
// before it counts or lists). A report held this way whose account the
// first found unusable fails with the breaker's SkippedError, which the
// run records as a skip.

// first is the job's first report's part: ready once it has set up (it is
// about to send), answered once it has read a page; both once it ended.
type first struct {
	ready, answered chan struct{}
	setUp, answer   func()
}

func newFirst() *first {
	f := &first{ready: make(chan struct{}), answered: make(chan struct{})}
	f.setUp = sync.OnceFunc(func() { close(f.ready) })
	// answered closes before ready, so that a gate woken by ready sees
	// the answer (and the breaker the first report's end tripped).
	f.answer = sync.OnceFunc(func() { close(f.answered); f.setUp() })
	return f
}

// gate is the part of a report that starts beside the first one.
type gate struct {
	first   *first
	after   <-chan struct{} // the report started before it is set up
	ready   chan struct{}   // this one is set up (about to send) or ended
	setUp   func()
	account string
	breaker *breaker
	passed  atomic.Bool
}

func newGate(f *first, after <-chan struct{}, account string, b *breaker) *gate {
	g := &gate{first: f, after: after, ready: make(chan struct{}), account: account, breaker: b}
	g.setUp = sync.OnceFunc(func() { close(g.ready) })
	return g
}

type (
	firstKey struct{}
	gateKey  struct{}
)

func firstOf(ctx context.Context) *first {
	f, _ := ctx.Value(firstKey{}).(*first)
	return f
}

func gateOf(ctx context.Context) *gate {
	g, _ := ctx.Value(gateKey{}).(*gate)
	return g
}

// answered tells the gates, when ctx is the first report's, that it has
// shown its account works (read a page).
func answered(ctx context.Context) {
	if f := firstOf(ctx); f != nil {
		f.answer()
	}
}

// runEnded is answered for a run that has ended, whichever report's it was.
func runEnded(ctx context.Context) {
	answered(ctx)
	if g := gateOf(ctx); g != nil {
		g.setUp()
	}
}

// awaitSetUp waits, for a report held at a gate, until it may set up: the
// report started before it is set up, or the first has answered.
func awaitSetUp(ctx context.Context) error {
	g := gateOf(ctx)
	if g == nil || g.passed.Load() {
		return nil
	}
	select {
	case <-g.after:
	case <-g.first.answered:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.skipped()
}

// awaitTurn tells that the run of ctx is set up and about to send; held at
// a gate, it waits until the first report has answered (or ended).
func awaitTurn(ctx context.Context) error {
	if f := firstOf(ctx); f != nil {
		f.setUp()
		return nil
	}
	g := gateOf(ctx)
	if g == nil || g.passed.Load() {
		return nil
	}
	g.setUp()
	select {
	case <-g.first.answered:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := g.skipped(); err != nil {
		return err
	}
	g.passed.Store(true)
	return nil
}

// skipped is the breaker's SkippedError once the first report has answered
// or ended and found the account unusable, else nil.
func (g *gate) skipped() error {
	select {
	case <-g.first.answered:
		if why := g.breaker.tripped(g.account); why != nil {
			return why
		}
	default:
	}
	return nil
}

// heldBack tells whether ctx has a gate its run has not yet passed.
func heldBack(ctx context.Context) bool {
	g := gateOf(ctx)
	return g != nil && !g.passed.Load()
}
