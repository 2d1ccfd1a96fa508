package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

var _ Store = (*load.Store)(nil)

// memStore is an in-memory Store that records what a run did.
type memStore struct {
	mu       sync.Mutex
	nextID   int64
	finished map[int64]runlog.Status
	errs     map[int64]string
	batches  [][]schema.Record
	marks    []string
	applyErr error
	// calls lists the maintenance calls in order: "deletes:<event table>",
	// "purge", "views", "reconcile:<table>", "edits:<event table>".
	calls []string
	// stepErr fails every maintenance call.
	stepErr error
	// bookmark is every report's bookmark; since LastSuccessStart's answer.
	bookmark string
	since    time.Time
	edited   []string  // UpdatedActivities' answer
	stored   int64     // Tally's live rows
	newest   time.Time // and their newest value
}

func newMemStore() *memStore {
	return &memStore{finished: map[int64]runlog.Status{}, errs: map[int64]string{}}
}

func (m *memStore) call(c string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, c)
	return m.stepErr
}

func (m *memStore) EnsureTable(context.Context, schema.Table, schema.WriteMode, string) error {
	return nil
}
func (m *memStore) BeginRun(context.Context, load.RunInfo) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	return m.nextID, nil
}
func (m *memStore) Bookmark(context.Context, string, string, string) (schema.Bookmark, bool, error) {
	b, err := schema.ParseBookmark(m.bookmark)
	return b, m.bookmark != "", err
}
func (m *memStore) Apply(_ context.Context, _ load.Run, _ schema.Table, _ schema.WriteMode, b load.Batch, _ load.Counters) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.applyErr != nil {
		return 0, m.applyErr
	}
	m.batches = append(m.batches, b.Records)
	m.marks = append(m.marks, b.Bookmark.String())
	return int64(len(b.Records)), nil
}
func (m *memStore) StartReplace(context.Context, schema.Table, string) error { return nil }
func (m *memStore) FinishReplace(context.Context, load.Run, schema.Table) (int64, error) {
	return 0, nil
}
func (m *memStore) FinishRun(_ context.Context, id int64, status runlog.Status, _ load.Counters, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished[id], m.errs[id] = status, msg
	return nil
}
func (m *memStore) LastSuccessStart(context.Context, string, string) (time.Time, error) {
	return m.since, nil
}
func (m *memStore) StoredRows(context.Context, schema.Table, string) (int64, error) { return 0, nil }
func (m *memStore) RawKeyChanges(context.Context, int64) ([]load.SchemaChange, error) {
	return nil, nil
}
func (m *memStore) EnsureVersions(context.Context, schema.Table) error { return nil }
func (m *memStore) CustomFieldIDs(_ context.Context, _, _, name string) ([]string, error) {
	return nil, fmt.Errorf("no custom field %q in the memory store", name)
}
func (m *memStore) Tally(context.Context, schema.Table, string, string) (load.Tally, error) {
	return load.Tally{Rows: m.stored, Newest: m.newest}, nil
}
func (m *memStore) ApplyDeletes(_ context.Context, _ load.Run, eventTable string, _ []schema.Table, _ *[]string) (int64, error) {
	return 2, m.call("deletes:" + eventTable)
}
func (m *memStore) Reconcile(_ context.Context, _ load.Run, t schema.Table, _ []string, _ time.Time, _ *[]string) (int64, error) {
	return 1, m.call("reconcile:" + t.Name)
}
func (m *memStore) PurgeDeleted(context.Context, string, []schema.Table) (int64, error) {
	return 0, m.call("purge")
}
func (m *memStore) RecordFieldChanges(context.Context, load.Run, string, []schema.Table, bool) ([]load.SchemaChange, error) {
	return nil, nil
}

func (m *memStore) RefreshCustomViews(context.Context, string, []schema.Table) error {
	return m.call("views")
}
func (m *memStore) UpdatedActivities(_ context.Context, eventTable, _, _, _, _ string, _, _ time.Time) ([]string, error) {
	return m.edited, m.call("edits:" + eventTable)
}
func (m *memStore) LoadedFrom(context.Context, string, string) (schema.Bookmark, bool, error) {
	return schema.Bookmark{}, false, nil
}
func (m *memStore) SetLoadedFrom(context.Context, string, string, schema.Bookmark, bool) (bool, error) {
	return true, nil
}
func (m *memStore) SucceededBefore(context.Context, string, string, int64) (bool, error) {
	return false, nil
}
func (m *memStore) Oldest(context.Context, schema.Table, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

// pages streams n pages of size records; the last one carries mark.
func pages(n, size int, mark string) ExtractFunc {
	return func(ctx context.Context, req extract.Request, emit func(extract.Batch) error) error {
		for p := 0; p < n; p++ {
			b := extract.Batch{Page: p + 1}
			for i := 0; i < size; i++ {
				b.Records = append(b.Records, schema.Record{Raw: json.RawMessage(fmt.Sprintf(`{"id":"x%d_%d"}`, p, i))})
			}
			if p == n-1 {
				b.Bookmark, _ = schema.ParseBookmark(mark)
			}
			if err := emit(b); err != nil {
				return err
			}
		}
		return nil
	}
}

func report(name string) *extract.Report {
	r, ok := extract.Lookup(name)
	if !ok {
		panic(name)
	}
	return r
}
