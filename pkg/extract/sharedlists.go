package extract

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/closesync/closesync/pkg/closeapi"
)

// fieldListPageSize is the _limit of the custom field definition lists,
// the same for every report that reads them, so that their reads are one
// request and can be shared (WithSharedLists).
const fieldListPageSize = 1000

// sharedPrefix is where the listings reports share live: the custom field
// definitions, which the custom_fields report stores and the contact
// search names in its _fields.
const sharedPrefix = "/custom_field/"

type sharedKey struct{}

// sharedLists memoises, for one job run, the listings under sharedPrefix
// that its reports make alike.
type sharedLists struct {
	mu sync.Mutex
	m  map[string]*sharedList
}

// sharedList is one listing: done closes when its first reader has read
// it; pages is what it read, nil when it failed or found nothing.
type sharedList struct {
	done  chan struct{}
	pages []closeapi.Page
}

// WithSharedLists returns a context in which the reports run under it read
// each custom field definition list (GET /custom_field/<type>/, same query
// and page size) once, and the others that ask for it are given that read:
// within one job run the contact search's _fields and the custom_fields
// report's rows then come from the same definitions, in two requests fewer.
// A report asking while the first read is in flight waits for it. Only a
// listing that succeeded with records is shared: one that failed, or was
// empty, is read again by the next report that asks (so the full refresh's
// check of an empty listing always asks Close itself).
func WithSharedLists(ctx context.Context) context.Context {
	return context.WithValue(ctx, sharedKey{}, &sharedLists{m: map[string]*sharedList{}})
}

// listShared is c.ListOffset, through the context's shared lists for the
// paths under sharedPrefix.
func listShared(ctx context.Context, c Client, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	memo, _ := ctx.Value(sharedKey{}).(*sharedLists)
	if memo == nil || !strings.HasPrefix(path, sharedPrefix) {
		return c.ListOffset(ctx, path, q, limit, fn)
	}
	key := path + "?" + q.Encode() + "&_limit=" + strconv.Itoa(limit)
	for {
		memo.mu.Lock()
		l, found := memo.m[key]
		if !found {
			l = &sharedList{done: make(chan struct{})}
			memo.m[key] = l
		}
		memo.mu.Unlock()
		if !found {
			return memo.read(ctx, c, key, l, path, q, limit, fn)
		}
		select {
		case <-l.done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if l.pages != nil {
			return replayPages(l.pages, fn)
		}
		// The first read failed or was empty, and is gone from the memo:
		// ask again (this report reads it, or waits for whoever does).
	}
}

// read makes the shared listing's request for everyone.
func (m *sharedLists) read(ctx context.Context, c Client, key string, l *sharedList, path string, q url.Values, limit int, fn func(closeapi.Page) error) error {
	var pages []closeapi.Page
	records := 0
	err := c.ListOffset(ctx, path, q, limit, func(p closeapi.Page) error {
		pages = append(pages, p)
		records += len(p.Data)
		return nil
	})
	if err != nil || records == 0 {
		m.mu.Lock()
		delete(m.m, key)
		m.mu.Unlock()
		close(l.done)
		if err != nil {
			return err
		}
		return replayPages(pages, fn)
	}
	l.pages = pages
	close(l.done)
	return replayPages(pages, fn)
}

// replayPages hands a listing's pages to fn, each record a copy of its own, so
// that reports running at once never share bytes.
func replayPages(pages []closeapi.Page, fn func(closeapi.Page) error) error {
	for _, p := range pages {
		data := make([]json.RawMessage, len(p.Data))
		for i, raw := range p.Data {
			data[i] = slices.Clone(raw)
		}
		p.Data = data
		if err := fn(p); err != nil {
			return err
		}
	}
	return nil
}
