package closeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
)

// Page is one page of a list response. Data holds the raw JSON objects as
// Close sent them, never re-encoded.
type Page struct {
	Data         []json.RawMessage
	HasMore      bool   // offset: has_more; cursor and search: a next cursor exists
	TotalResults *int64 // total_results, where the endpoint reports it
	CursorNext   string // /event/ "cursor_next"
	Cursor       string // /data/search/ "cursor"
	Number       int    // 1-based page number within this listing
	Skip         int    // _skip used for this page (offset listings)
}

// ListOffset walks an offset-paginated list: it GETs path with q plus
// _limit (when limit > 0) and _skip, calls fn with each page in order, and
// advances _skip by the number of objects received, until has_more is
// false or a page is empty. A response without a data array of objects or
// without has_more fails with ErrNotAPage (endpoints that return their
// whole list at once, statuses and pipelines, are read as a SinglePage
// instead). A _skip in q is the starting offset.
//
// When Close refuses a _skip past the resource's cap it returns a
// *MaxSkipError (matching ErrMaxSkip). An error from fn stops the walk and
// is returned as is.
func (c *Client) ListOffset(ctx context.Context, path string, q url.Values, limit int, fn func(Page) error) error {
	fn = watchPages(ctx, path, fn)
	skip := 0
	if s := q.Get("_skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("GET %s: bad _skip %q", apiPath(path), s)
		}
		skip = n
	}
	for n := 1; ; n++ {
		at := ""
		if skip > 0 {
			at = strconv.Itoa(skip)
		}
		qq := pageQuery(q, limit, "_skip", at)
		body := pageBody{shape: shapeOffset}
		if err := c.Get(ctx, path, qq, &body); err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && skip > 0 && skipCapped(ae.Message, n) {
				return &MaxSkipError{Skip: skip, Max: skipCapMax(ae.Message), Err: ae}
			}
			return fmt.Errorf("page %d (_skip %d): %w", n, skip, err)
		}
		p := Page{Data: body.Data, HasMore: body.HasMore != nil && *body.HasMore,
			TotalResults: body.TotalResults, Number: n, Skip: skip}
		if err := fn(p); err != nil {
			return err
		}
		if !p.HasMore || len(p.Data) == 0 {
			return nil
		}
		skip += len(p.Data)
	}
}

// skipCapped recognises a skip-cap 400 during an offset walk: the
// max_skip wording, or (newer wording) "less than or equal to" once an
// earlier page has already been served with the same _limit, so the
// complaint cannot be about the limit.
func skipCapped(msg string, page int) bool {
	return isSkipCap(msg) || (page > 1 && lteRE.MatchString(msg))
}

// ListCursor walks a cursor-paginated list (/event/): it GETs path with q
// plus _limit (when limit > 0) and, after the first page, _cursor set to
// the previous page's cursor_next, resending every other parameter, until
// cursor_next is null or empty. A response without a data array or without
// the cursor_next field (null is fine) fails with ErrNotAPage. A _cursor in
// q is the starting cursor.
func (c *Client) ListCursor(ctx context.Context, path string, q url.Values, limit int, fn func(Page) error) error {
	fn = watchPages(ctx, path, fn)
	fetch := func(n int, cursor string) (Page, string, error) {
		body := pageBody{shape: shapeCursor}
		if err := c.Get(ctx, path, pageQuery(q, limit, "_cursor", cursor), &body); err != nil {
			return Page{}, "", fmt.Errorf("page %d: %w", n, err)
		}
		p := Page{Data: body.Data, TotalResults: body.TotalResults, Number: n}
		if body.CursorNext != nil {
			p.CursorNext = *body.CursorNext
		}
		return p, p.CursorNext, nil
	}
	stuck := func(n int) error { return fmt.Errorf("GET %s page %d: cursor_next did not advance", apiPath(path), n) }
	return walkCursor(q.Get("_cursor"), fetch, stuck, fn)
}

// Search walks POST /data/search/ (Advanced Filtering): it sends body
// (query, _limit, _fields, sort, ...; not modified) with "cursor" set from
// the previous page's "cursor", until the cursor is null or empty. A
// response without a data array or a cursor field (null is fine) fails
// with ErrNotAPage. Close expires search cursors after about 30 seconds: a
// cursor rejected as expired or invalid ends the walk with an error
// matching ErrCursorExpired, and the caller should re-query from where it
// got to.
func (c *Client) Search(ctx context.Context, body map[string]any, fn func(Page) error) error {
	fn = watchPages(ctx, "/data/search/", fn)
	fetch := func(n int, cursor string) (Page, string, error) {
		b := maps.Clone(body)
		if b == nil {
			b = map[string]any{}
		}
		delete(b, "cursor")
		if cursor != "" {
			b["cursor"] = cursor
		}
		resp := pageBody{shape: shapeSearch}
		if err := c.Post(ctx, "/data/search/", b, &resp); err != nil {
			var ae *APIError
			if cursor != "" && !errors.Is(err, ErrCursorExpired) && errors.As(err, &ae) && ae.badCursor(true) {
				return Page{}, "", fmt.Errorf("search page %d: %w: %w", n, ErrCursorExpired, err)
			}
			return Page{}, "", fmt.Errorf("search page %d: %w", n, err)
		}
		p := Page{Data: resp.Data, TotalResults: resp.TotalResults, Number: n}
		if resp.Cursor != nil {
			p.Cursor = *resp.Cursor
		}
		return p, p.Cursor, nil
	}
	stuck := func(n int) error { return fmt.Errorf("search page %d: cursor did not advance", n) }
	cursor, _ := body["cursor"].(string)
	return walkCursor(cursor, fetch, stuck, fn)
}

// walkCursor is the loop of the cursor-paged walks: fetch gets page n
// (from 1) sending cursor ("" for none) and returns it with its next
// cursor; fn sees each page, HasMore set when a next cursor exists, until
// there is none. A next cursor equal to the one sent fails with stuck(n).
func walkCursor(cursor string, fetch func(n int, cursor string) (Page, string, error),
	stuck func(n int) error, fn func(Page) error) error {
	for n := 1; ; n++ {
		p, next, err := fetch(n, cursor)
		if err != nil {
			return err
		}
		p.HasMore = next != ""
		if err := fn(p); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		if next == cursor {
			return stuck(n)
		}
		cursor = next
	}
}

// pageQuery is q for one page: a copy with _limit set (when limit > 0)
// and the paging key set to value (removed when value is empty).
func pageQuery(q url.Values, limit int, key, value string) url.Values {
	qq := CloneQuery(q)
	if limit > 0 {
		qq.Set("_limit", strconv.Itoa(limit))
	}
	qq.Del(key)
	if value != "" {
		qq.Set(key, value)
	}
	return qq
}

// CloneQuery returns a deep copy of q, never nil.
func CloneQuery(q url.Values) url.Values {
	out := make(url.Values, len(q)+2)
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}
