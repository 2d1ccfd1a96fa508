package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/closesync/closesync/pkg/closeapi"
)

// idInClient serves a list endpoint that filters on id__in as Close's
// /activity/ does (ids it does not hold, deleted ones, are not listed),
// or, with ignore, one that ignores the parameter and lists everything.
// A listing without id__in (the walk) is empty. It records every target.
type idInClient struct {
	objs    map[string]json.RawMessage
	ignore  bool
	targets []string
}

func (c *idInClient) Get(_ context.Context, path string, _ url.Values, _ any) error {
	return fmt.Errorf("unexpected GET %s: refetches are batched", path)
}

func (c *idInClient) ListOffset(_ context.Context, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	qq := url.Values{"_limit": {fmt.Sprint(limit)}}
	for k, v := range q {
		qq[k] = v
	}
	c.targets = append(c.targets, apiPrefix+path+"?"+qq.Encode())
	var data []json.RawMessage
	switch in := q.Get("id__in"); {
	case in == "":
	case c.ignore:
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for id := range c.objs {
				if !yield(id) {
					return
				}
			}
		}) {
			data = append(data, c.objs[id])
		}
	default:
		for _, id := range strings.Split(in, ",") {
			if o, ok := c.objs[id]; ok {
				data = append(data, o)
			}
		}
	}
	if len(data) > limit {
		data = data[:limit]
	}
	return fn(closeapi.Page{Data: data, Number: 1})
}

func (c *idInClient) ListCursor(context.Context, string, url.Values, int, func(closeapi.Page) error) error {
	return errors.New("unexpected cursor listing")
}

func (c *idInClient) Search(context.Context, map[string]any, func(closeapi.Page) error) error {
	return errors.New("unexpected search")
}

func (c *idInClient) Post(_ context.Context, path string, _, _ any) error {
	return fmt.Errorf("unexpected POST %s", path)
}

// TestRefetchBatchesByIDIn: the activities a run re-reads are listed by
// id__in, at most refetchBatch a request and within refetchMaxTarget
// characters, every id asked for once; ids that are gone are skipped; an
// endpoint that ignores id__in is an error, not a listing of everything.
func TestRefetchBatchesByIDIn(t *testing.T) {
	tests := []struct {
		name     string
		idLen    int // characters after "acti_"
		ids      int
		gone     int // of the ids, how many no longer exist
		requests int
	}{
		{"one request for a few", 22, 10, 0, 1},
		{"short ids: 100 a request", 8, 250, 0, 3},
		{"the fake's ids: about 60 a request", 22, 250, 0, 5},
		{"gone ones skipped", 22, 120, 20, 2},
		{"Close's longer ids: about 35 a request", 43, 100, 0, 3},
		{"none", 22, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &idInClient{objs: map[string]json.RawMessage{}}
			var ids []string
			for i := range tt.ids {
				id := fmt.Sprintf("acti_%0*d", tt.idLen, i)
				ids = append(ids, id)
				if i >= tt.gone {
					c.objs[id] = json.RawMessage(fmt.Sprintf(`{"id":%q,"date_created":"2025-01-01T00:00:00Z","_type":"Note"}`, id))
				}
			}
			rep := walkerReport(Offset{PageSize: 100}, Incremental, activityStrategy, Source{Path: "/activity/note/"})
			var got []string
			err := Extract(context.Background(), c, Request{Report: rep, Now: now, Refetch: ids}, func(b Batch) error {
				for _, r := range b.Records {
					var o struct{ ID string }
					_ = json.Unmarshal(r.Raw, &o)
					got = append(got, o.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := ids[min(tt.gone, len(ids)):]; !slices.Equal(got, want) {
				t.Errorf("refetched %d records, want the %d that exist", len(got), len(want))
			}
			var refetches []string
			for _, target := range c.targets {
				if strings.Contains(target, "id__in=") {
					refetches = append(refetches, target)
				}
				if len(target) > refetchMaxTarget {
					t.Errorf("a %d-character request target", len(target))
				}
			}
			if len(refetches) != tt.requests {
				t.Errorf("%d refetch requests, want %d", len(refetches), tt.requests)
			}
			asked := 0
			for _, target := range refetches {
				u, _ := url.Parse(target)
				n := len(strings.Split(u.Query().Get("id__in"), ","))
				if n > refetchBatch {
					t.Errorf("a request names %d ids", n)
				}
				asked += n
			}
			if asked != tt.ids {
				t.Errorf("asked for %d ids, want %d", asked, tt.ids)
			}
		})
	}
	t.Run("id__in ignored", func(t *testing.T) {
		c := &idInClient{ignore: true, objs: map[string]json.RawMessage{
			"acti_a": json.RawMessage(`{"id":"acti_a","date_created":"2025-01-01T00:00:00Z"}`),
			"acti_b": json.RawMessage(`{"id":"acti_b","date_created":"2025-01-01T00:00:00Z"}`),
		}}
		rep := walkerReport(Offset{PageSize: 100}, Incremental, activityStrategy, Source{Path: "/activity/note/"})
		err := Extract(context.Background(), c, Request{Report: rep, Now: now, Refetch: []string{"acti_b"}}, func(Batch) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "not an object it was asked for") {
			t.Errorf("err = %v, want the unasked-for object named", err)
		}
	})
}
