package extract

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// countingLists answers every listing with answer(path, call number) and
// counts the calls per path.
type countingLists struct {
	pagesClient
	mu     sync.Mutex
	calls  map[string]int
	answer func(path string, n int) ([]json.RawMessage, error)
}

func (c *countingLists) ListOffset(_ context.Context, path string, _ url.Values, _ int, fn func(closeapi.Page) error) error {
	c.mu.Lock()
	c.calls[path]++
	n := c.calls[path]
	c.mu.Unlock()
	data, err := c.answer(path, n)
	if err != nil {
		return err
	}
	return fn(closeapi.Page{Data: data, Number: 1})
}

// TestSharedListsReadOnce: under WithSharedLists the custom field lists
// are read once for every report that asks, also when they ask at once;
// a failed or empty read is not shared (the next asker reads again);
// other paths, and contexts without the memo, are never shared.
func TestSharedListsReadOnce(t *testing.T) {
	field := []json.RawMessage{json.RawMessage(`{"id":"cf_1"}`)}
	tests := []struct {
		name    string
		memo    bool
		path    string
		answer  func(path string, n int) ([]json.RawMessage, error)
		readers int
		calls   int
		records int // each reader's
		failed  int // readers that got an error
		// together starts every reader at once (the first read still in
		// flight when the others ask); else the first reads alone first.
		together bool
	}{
		{"shared", true, "/custom_field/contact/", func(string, int) ([]json.RawMessage, error) { return field, nil }, 8, 1, 1, 0, false},
		{"asked at once", true, "/custom_field/contact/", func(string, int) ([]json.RawMessage, error) {
			time.Sleep(20 * time.Millisecond)
			return field, nil
		}, 8, 1, 1, 0, true},
		{"without the memo", false, "/custom_field/contact/", func(string, int) ([]json.RawMessage, error) { return field, nil }, 3, 3, 1, 0, false},
		{"not a field list", true, "/lead/", func(string, int) ([]json.RawMessage, error) { return field, nil }, 3, 3, 1, 0, false},
		{"empty is read again", true, "/custom_field/shared/", func(string, int) ([]json.RawMessage, error) { return nil, nil }, 3, 3, 0, 0, false},
		{"a failure is read again", true, "/custom_field/lead/", func(_ string, n int) ([]json.RawMessage, error) {
			if n == 1 {
				return nil, errors.New("502")
			}
			return field, nil
		}, 4, 2, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &countingLists{calls: map[string]int{}, answer: tt.answer}
			ctx := context.Background()
			if tt.memo {
				ctx = WithSharedLists(ctx)
			}
			var failed atomic.Int32
			var wg sync.WaitGroup
			records := make([]int, tt.readers)
			// The first reader alone, so that which read fails is the first.
			read := func(i int) {
				err := listShared(ctx, c, tt.path, nil, fieldListPageSize, func(p closeapi.Page) error {
					records[i] += len(p.Data)
					return nil
				})
				if err != nil {
					failed.Add(1)
				}
			}
			first := 1
			if tt.together {
				first = 0
			} else {
				read(0)
			}
			for i := first; i < tt.readers; i++ {
				wg.Go(func() { read(i) })
			}
			wg.Wait()
			if got := c.calls[tt.path]; got != tt.calls {
				t.Errorf("%d requests, want %d", got, tt.calls)
			}
			if int(failed.Load()) != tt.failed {
				t.Errorf("%d readers failed, want %d", failed.Load(), tt.failed)
			}
			for i, n := range records {
				if want := tt.records; n != want && (i > 0 || tt.failed == 0) {
					t.Errorf("reader %d got %d records, want %d", i, n, want)
				}
			}
		})
	}
}
