package load

import (
	"context"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Batching defaults. Pages are committed in groups: each transaction has a
// fixed cost, and the newest-version check scans the table, so one
// transaction per API page would make a large first sync quadratic. A group
// is flushed by size or by age, so progress stays durable under a slow,
// rate-limited API.
const (
	// DefaultBatchRows bounds a transaction's records.
	DefaultBatchRows = 5000
	// DefaultBatchBytes bounds a transaction's JSON: DuckDB types a batch in
	// memory, so its working set follows the batch's size, and 5,000 leads
	// of about 5 KB are 26 MB of JSON that need far more than the default
	// memory_limit (load.DefaultEngine). 4 MiB is about 800 leads or 4,000
	// small activities.
	DefaultBatchBytes = 2 << 20
	// DefaultBatchAge flushes a partial batch so a slow run still commits
	// progress.
	DefaultBatchAge = 5 * time.Second
)

// Applier commits one batch (*Store).
type Applier interface {
	Apply(ctx context.Context, run Run, t schema.Table, mode schema.WriteMode, b Batch, c Counters) (int64, error)
}

// BatchWriter groups the records of one run into batches and commits each
// through an Applier: when it holds Rows records or Bytes of JSON, or when its oldest
// uncommitted work is Age old at the next Write. The bookmark of the last
// Write goes with the batch that holds its records. It is not safe for
// concurrent use.
type BatchWriter struct {
	apply Applier
	run   Run
	table schema.Table
	mode  schema.WriteMode

	rows     int
	bytes    int
	age      time.Duration
	counters func() Counters
	changes  *Changes
	history  bool
	flushed  func(BatchTotals)

	pending      Batch
	pendingBytes int
	lastFlush    time.Time
	totals       BatchTotals
}

// BatchTotals is what a BatchWriter has committed so far.
type BatchTotals struct {
	Batches int   // transactions committed
	Records int64 // records committed
	Rows    int64 // rows written, as Apply counts them
	// Bookmark is the last bookmark committed (zero if none).
	Bookmark schema.Bookmark
}

// BatchOption configures a BatchWriter.
type BatchOption func(*BatchWriter)

// WithBatchRows sets how many records one transaction commits at most
// (n <= 0: DefaultBatchRows).
func WithBatchRows(n int) BatchOption {
	return func(w *BatchWriter) {
		if n > 0 {
			w.rows = n
		}
	}
}

// WithBatchBytes sets how many bytes of JSON (the records' Raw) one
// transaction commits at most, past the page that crosses it (n <= 0:
// DefaultBatchBytes).
func WithBatchBytes(n int) BatchOption {
	return func(w *BatchWriter) {
		if n > 0 {
			w.bytes = n
		}
	}
}

// WithBatchAge sets how old a partial batch may grow before a Write commits
// it (d <= 0: DefaultBatchAge).
func WithBatchAge(d time.Duration) BatchOption {
	return func(w *BatchWriter) {
		if d > 0 {
			w.age = d
		}
	}
}

// WithCounters reports the run's request counters, written with every
// batch.
func WithCounters(fn func() Counters) BatchOption {
	return func(w *BatchWriter) { w.counters = fn }
}

// WithChanges collects the keys every committed batch created and updated
// into ch (see Batch.Changes).
func WithChanges(ch *Changes) BatchOption {
	return func(w *BatchWriter) { w.changes = ch }
}

// WithHistory keeps every new version of a row in the table's versions
// table too (see Batch.History).
func WithHistory() BatchOption {
	return func(w *BatchWriter) { w.history = true }
}

// WithFlushed calls fn with the totals after every committed batch.
func WithFlushed(fn func(BatchTotals)) BatchOption {
	return func(w *BatchWriter) { w.flushed = fn }
}

// NewBatchWriter returns a writer committing run's records into table t in
// mode through a.
func NewBatchWriter(a Applier, run Run, t schema.Table, mode schema.WriteMode, opts ...BatchOption) *BatchWriter {
	w := &BatchWriter{apply: a, run: run, table: t, mode: mode, rows: DefaultBatchRows, bytes: DefaultBatchBytes, age: DefaultBatchAge,
		counters: func() Counters { return Counters{} }}
	for _, o := range opts {
		o(w)
	}
	w.lastFlush = time.Now()
	return w
}

// Write adds records, and bookmark when it is not zero, to the pending
// batch, and commits the batch when it is full or old enough.
func (w *BatchWriter) Write(ctx context.Context, recs []schema.Record, bookmark schema.Bookmark) error {
	w.pending.Records = append(w.pending.Records, recs...)
	for _, r := range recs {
		w.pendingBytes += len(r.Raw)
	}
	if !bookmark.IsZero() {
		w.pending.Bookmark = bookmark
	}
	if len(w.pending.Records) >= w.rows || w.pendingBytes >= w.bytes || time.Since(w.lastFlush) >= w.age {
		return w.Flush(ctx)
	}
	return nil
}

// Flush commits the pending batch, if it holds records or a bookmark. A
// batch that fails stays pending, so a later Flush tries it again.
func (w *BatchWriter) Flush(ctx context.Context) error {
	if len(w.pending.Records) == 0 && w.pending.Bookmark.IsZero() {
		return nil
	}
	w.pending.Changes, w.pending.History = w.changes, w.history
	n, err := w.apply.Apply(ctx, w.run, w.table, w.mode, w.pending, w.counters())
	if err != nil {
		return err
	}
	w.totals.Batches++
	w.totals.Records += int64(len(w.pending.Records))
	w.totals.Rows += n
	if !w.pending.Bookmark.IsZero() {
		w.totals.Bookmark = w.pending.Bookmark
	}
	w.pending, w.pendingBytes, w.lastFlush = Batch{}, 0, time.Now()
	if w.flushed != nil {
		w.flushed(w.totals)
	}
	return nil
}

// Totals returns what the writer has committed so far.
func (w *BatchWriter) Totals() BatchTotals { return w.totals }
