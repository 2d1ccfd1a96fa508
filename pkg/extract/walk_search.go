package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// Search reads POST /data/search/ (Advanced Filtering) for the object type
// its report's one source names in Params ("object_type"), with cursor
// paging, incrementally on Strategy.Field: see Walk.
//
// A search returns only the fields its _fields names (bare ids without
// it), so every custom field must be asked for by id: the walker lists
// their definitions from CustomFields or CustomTypes first.
type Search struct {
	// CustomFields lists the object type's custom field definitions (and
	// the shared fields associated with it), e.g. /custom_field/contact/.
	CustomFields string
	// CustomTypes lists the types whose objects carry the definitions of
	// their fields in fields[].id, for object types whose custom fields
	// hang off types of their own (/custom_object_type/; Close's own
	// example and Airbyte's connector take them from there).
	CustomTypes string
}

func (Search) listsEveryID() {}

// Advanced Filtering limits (close-api.md §3.2).
const (
	// searchPageSize is the largest _limit /data/search/ accepts.
	searchPageSize = 200
	// searchWalkCap is the most objects one cursor walk returns.
	searchWalkCap = 10000
	// searchRestartAt is how many objects a cursor walk may return before
	// closesync re-queries from where it got to. Close ends a walk after
	// 10,000 objects with a null cursor, which looks just like the end of
	// the results, and objects deleted during a walk can make a capped walk
	// return fewer. So any walk that returned this many is followed by a
	// fresh query from the last safe position: at worst one needless
	// request that re-reads the boundary.
	searchRestartAt = 5000
	// searchMaxStalls is how many times in a row a walk may end early
	// (an expired cursor) without getting past the position it started at.
	searchMaxStalls = 3
	// searchMaxFields is the longest _fields list one search asks for.
	// Close answers 400 once the list grows long: seen at 110-145 lead
	// fields while organisations under 50 worked (mako-ai/mako#966); the
	// limit is not published, so closesync takes the stricter reading.
	searchMaxFields = 50
)

// Walk reads a Search report: a cursor walk over the object type's
// objects with date_updated (Strategy.Field) on or after the bookmark less
// the overlap, sorted ascending by it.
//
// A walk ends at Close's 10,000-object cap or when its 30-second cursor
// expires; the walk is then queried again from the newest Field value read
// so far that is older than the run's start less the overlap. Values that
// old cannot have changed during the walk, so they are the walk's true
// position: every object sorted before it has been read. Objects at the
// boundary are read twice, which upserts make harmless; none is skipped.
// The same position is each batch's bookmark, and the last batch commits
// the newest value read (never later than the run's start).
func (Search) Walk(ctx context.Context, c Client, req Request, emit func(Batch) error) error {
	x := newRun(req, emit)
	r := x.req.Report
	s, objType, err := searchSource(r)
	if err != nil {
		return err
	}
	from := x.from()
	fields, ok, err := x.searchFields(ctx, c, objType)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if !ok {
		return nil // no types defined: there can be no objects
	}
	if err := x.searchWalks(ctx, c, s, objType, fields, from); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	return x.finish()
}

// Estimate runs the walk's search for its first page of ids (the key
// and sort field only, as a listing of ids asks): the only page is exact,
// a full one is extrapolated from its dates (see fromSample). A search
// answers no count that close-api.md vouches for.
func (Search) Estimate(ctx context.Context, c Client, req Request) (Plan, error) {
	x := newRun(req, nil)
	r := x.req.Report
	p := Plan{Report: r.Name, Records: -1, Requests: -1}
	_, objType, err := searchSource(r)
	if err != nil {
		return p, err
	}
	from := x.from()
	p.Window = "search " + objType + ", everything"
	if !from.IsZero() {
		p.Window = fmt.Sprintf("search %s, %s >= %s", objType, r.Strategy.Field, from.UTC().Format(time.RFC3339))
	}
	ids := x.req
	ids.IDsOnly = true
	fields, _, err := newRun(ids, nil).searchFields(ctx, c, objType)
	if err != nil {
		return p, fmt.Errorf("%s: %w", r.Name, err)
	}
	body := searchBody(objType, r.Strategy.Field, fields, from)
	page, err := firstPage(func(fn func(closeapi.Page) error) error { return c.Search(ctx, body, fn) })
	p.Probes = 1
	if err != nil {
		return p, fmt.Errorf("%s: first search page: %w", r.Name, err)
	}
	n := fromSample(page, searchPageSize, sampleOrder{field: r.Strategy.Field, asc: true}, from, x.req.Now)
	if !n.known {
		p.Note = n.note
		return p, nil
	}
	// The walk also reads the custom field definitions, and asks for the
	// fields past searchMaxFields in further searches: not counted here.
	p.Records, p.Requests, p.Approx, p.Note = n.records, n.requests, n.approx, n.note
	return p, nil
}

// searchSource is a Search report's one source and the object type it
// searches.
func searchSource(r *Report) (Source, string, error) {
	if len(r.Sources) != 1 {
		return Source{}, "", fmt.Errorf("%s: a search report reads exactly one source, not %d", r.Name, len(r.Sources))
	}
	s := r.Sources[0]
	objType := s.Params.Get("object_type")
	if objType == "" {
		return s, "", fmt.Errorf("%s: search source %s names no object_type", r.Name, s.Path)
	}
	return s, objType, nil
}

// searchFields lists what the walk asks for: for a listing of ids, the
// idFields; else the table's columns (see tableSearchFields).
func (x *run) searchFields(ctx context.Context, c Client, objType string) (fields []string, ok bool, err error) {
	t := x.req.Report.Table
	if !x.req.IDsOnly {
		w, _ := x.req.Report.Walk.(Search)
		return tableSearchFields(ctx, c, objType, t, w)
	}
	// A search returns the fields _fields names: the key and the sort
	// field only, and no custom fields.
	for _, f := range x.idFields() {
		if col, ok := t.Column(f); ok {
			fields = append(fields, col.JSONPath())
		}
	}
	return fields, true, nil
}

// tableSearchFields lists the table's JSON columns and,
// when the table has a custom column, custom.<id> for every custom field
// of the object type, from the lists w names. ok is false when the
// organization defines no types for an object type that needs one, so no
// object can exist.
func tableSearchFields(ctx context.Context, c Client, objType string, t schema.Table, w Search) (fields []string, ok bool, err error) {
	hasCustom := false
	for _, col := range t.Columns {
		switch col.Source {
		case schema.FromJSON:
			fields = append(fields, col.JSONPath())
		case schema.FromCustom:
			hasCustom = true
		default:
			// Parent, position, tag and organization columns are not in
			// the object's JSON: nothing to ask the search for.
		}
	}
	if !hasCustom {
		return fields, true, nil
	}
	if path := w.CustomFields; path != "" {
		ids, err := customFieldIDs(ctx, c, path, objType)
		if err != nil {
			return nil, false, err
		}
		for _, id := range ids {
			fields = append(fields, "custom."+id)
		}
		return fields, true, nil
	}
	path := w.CustomTypes
	if path == "" {
		return fields, true, nil
	}
	types := 0
	err = c.ListOffset(ctx, path, nil, 100, func(p closeapi.Page) error {
		for _, raw := range p.Data {
			var typ struct {
				Fields []struct {
					ID string `json:"id"`
				} `json:"fields"`
			}
			if err := json.Unmarshal(raw, &typ); err != nil {
				return fmt.Errorf("%s: not an object with fields: %w (%.120s)", path, err, raw)
			}
			types++
			for _, f := range typ.Fields {
				if f.ID != "" {
					fields = append(fields, "custom."+f.ID)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("list the custom fields of %s: %w", objType, err)
	}
	return fields, types > 0, nil
}

// customFieldIDs lists the ids of the object type's own custom fields
// (path) and of the shared fields associated with it.
func customFieldIDs(ctx context.Context, c Client, path, objType string) ([]string, error) {
	var ids []string
	err := listShared(ctx, c, path, nil, fieldListPageSize, func(p closeapi.Page) error {
		for _, raw := range p.Data {
			var f struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &f); err != nil || f.ID == "" {
				return fmt.Errorf("%s: a field without an id: %.120s", path, raw)
			}
			ids = append(ids, f.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the custom fields of %s: %w", objType, err)
	}
	err = listShared(ctx, c, "/custom_field/shared/", nil, fieldListPageSize, func(p closeapi.Page) error {
		for _, raw := range p.Data {
			var f struct {
				ID           string `json:"id"`
				Associations []struct {
					ObjectType string `json:"object_type"`
				} `json:"associations"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("/custom_field/shared/: %w (%.120s)", err, raw)
			}
			for _, a := range f.Associations {
				if a.ObjectType == objType && f.ID != "" {
					ids = append(ids, f.ID)
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the shared custom fields: %w", err)
	}
	return ids, nil
}

// splitFields cuts a search's _fields into the walk's own list (every
// regular field, then custom fields up to searchMaxFields) and the lists
// of the remaining custom fields, each with "id" and at most
// searchMaxFields long, that complete each page (see completePage).
func splitFields(fields []string) (walk []string, rest [][]string, err error) {
	var custom []string
	for _, f := range fields {
		if strings.HasPrefix(f, "custom.") {
			custom = append(custom, f)
		} else {
			walk = append(walk, f)
		}
	}
	if len(walk) > searchMaxFields {
		return nil, nil, fmt.Errorf("%d regular fields: more than the %d one search may ask for", len(walk), searchMaxFields)
	}
	n := min(searchMaxFields-len(walk), len(custom))
	walk, custom = append(walk, custom[:n]...), custom[n:]
	for len(custom) > 0 {
		n := min(searchMaxFields-1, len(custom))
		rest = append(rest, append([]string{"id"}, custom[:n]...))
		custom = custom[n:]
	}
	return walk, rest, nil
}

// completePage asks, for the objects of one page of a walk, for the
// custom fields the walk's _fields could not name: one search per list of
// rest, by id (an id_set of the page's ids, which fit in one page), and
// adds the values to each record. An object changed between the walk's
// page and these searches gets values newer than its date_updated says;
// its change also moves its date_updated past the run's bookmark, so the
// next run reads it again whole. An object deleted meanwhile keeps what
// the walk read (its deletion comes from the event log).
func completePage(ctx context.Context, c Client, objType string, data []json.RawMessage, rest [][]string) ([]json.RawMessage, error) {
	if len(rest) == 0 || len(data) == 0 {
		return data, nil
	}
	ids := make([]any, len(data))
	index := make(map[string]int, len(data))
	for i, raw := range data {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &o); err != nil || o.ID == "" {
			return nil, fmt.Errorf("a search result without an id: %.120s", raw)
		}
		ids[i], index[o.ID] = o.ID, i
	}
	extra := make([]map[string]json.RawMessage, len(data))
	for n, fields := range rest {
		list := make([]any, len(fields))
		for i, f := range fields {
			list[i] = f
		}
		body := map[string]any{
			"query": map[string]any{"type": "and", "queries": []any{
				map[string]any{"type": "object_type", "object_type": objType},
				map[string]any{"type": "id_set", "ids": ids}}},
			"_fields": map[string]any{objType: list},
			"_limit":  searchPageSize,
		}
		err := c.Search(ctx, body, func(p closeapi.Page) error {
			for _, raw := range p.Data {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(raw, &obj); err != nil {
					return fmt.Errorf("not a JSON object: %.120s", raw)
				}
				var id string
				if err := json.Unmarshal(obj["id"], &id); err != nil {
					continue // no string id: not one of the page's objects
				}
				i, ok := index[id]
				if !ok {
					continue
				}
				for k, v := range obj {
					if strings.HasPrefix(k, "custom.") {
						if extra[i] == nil {
							extra[i] = map[string]json.RawMessage{}
						}
						extra[i][k] = v
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("the page's custom fields, list %d of %d: %w", n+2, len(rest)+1, err)
		}
	}
	out := make([]json.RawMessage, len(data))
	for i, raw := range data {
		out[i] = withKeys(raw, extra[i])
	}
	return out, nil
}

// withKeys appends keys to a JSON object's bytes, leaving the rest as
// Close sent it.
func withKeys(raw json.RawMessage, keys map[string]json.RawMessage) json.RawMessage {
	if len(keys) == 0 {
		return raw
	}
	body := bytes.TrimSpace(raw)
	body = bytes.TrimSpace(body[:len(body)-1]) // the closing brace
	out := append([]byte(nil), body...)
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if len(out) > 1 {
			out = append(out, ',')
		}
		name, _ := json.Marshal(k)
		out = append(append(append(out, name...), ':'), keys[k]...)
	}
	return append(out, '}')
}

// searchWalks runs cursor walks from from until one ends on its own.
func (x *run) searchWalks(ctx context.Context, c Client, s Source, objType string, fields []string, from time.Time) error {
	r := x.req.Report
	field := r.Strategy.Field
	fields, rest, err := splitFields(fields)
	if err != nil {
		return fmt.Errorf("search %s: %w", objType, err)
	}
	// Values older than this were not changed while the run went on.
	settled := x.req.Now.Add(-r.Strategy.Overlap)
	var pos time.Time // the walk's position: see search
	stalls := 0
	for {
		read := 0
		err := c.Search(ctx, x.searchUntil(searchBody(objType, field, fields, from), objType, field), func(p closeapi.Page) error {
			data, err := completePage(ctx, c, objType, p.Data, rest)
			if err != nil {
				return fmt.Errorf("page %d: %w", x.page+1, err)
			}
			b, seen, err := x.pageBatch(data, s.Tag)
			if err != nil {
				return err
			}
			for _, rec := range seen {
				if v := rec.at; !v.IsZero() && v.Before(settled) && v.After(pos) {
					pos = v
				}
			}
			read += len(data)
			if bm := x.positionBookmark(pos); !bm.IsZero() {
				b.Bookmark, x.emitted = bm, bm
			}
			if err := x.emit(b); err != nil {
				return fmt.Errorf("page %d: %w", x.page, err)
			}
			return nil
		})
		expired := errors.Is(err, closeapi.ErrCursorExpired)
		switch {
		case err == nil && read < searchRestartAt:
			return nil
		case err != nil && !expired:
			return err
		}
		if pos.After(from) {
			from, stalls = pos, 0
			continue
		}
		if err == nil && read < searchWalkCap {
			// Below the cap the walk ended on its own; only objects changed
			// during the run (read again next run) kept it from a settled
			// position.
			return nil
		}
		if stalls++; !expired || stalls >= searchMaxStalls {
			why := fmt.Sprintf("a walk of %d objects ended", read)
			if expired {
				why = fmt.Sprintf("%d walks in a row ended with an expired cursor (%v)", stalls, err)
			}
			return fmt.Errorf("search %s: %s without getting past %s %s: more objects share it than one walk returns, "+
				"or they changed during the run", objType, why, field, fmtPos(from))
		}
	}
}

// positionBookmark is the bookmark for a walk position: none when it
// would not move the stored or last emitted bookmark forward.
func (x *run) positionBookmark(pos time.Time) schema.Bookmark {
	if pos.IsZero() || !x.joinsBookmark() {
		return schema.Bookmark{}
	}
	for _, prev := range []schema.Bookmark{x.req.Bookmark, x.emitted} {
		if !prev.IsZero() && !pos.After(prev.Time()) {
			return schema.Bookmark{}
		}
	}
	return schema.BookmarkAt(pos)
}

func fmtPos(t time.Time) string {
	if t.IsZero() {
		return "(the start)"
	}
	return schema.BookmarkAt(t).String()
}

// searchBody is the Advanced Filtering query of one walk: objects of the
// type with field on or after from (everything when from is zero), sorted
// ascending by field, with the named fields, a page at a time.
func searchBody(objType, field string, fields []string, from time.Time) map[string]any {
	regular := map[string]any{"type": "regular_field", "object_type": objType, "field_name": field}
	queries := []any{map[string]any{"type": "object_type", "object_type": objType}}
	if !from.IsZero() {
		queries = append(queries, map[string]any{"type": "field_condition", "field": regular,
			"condition": map[string]any{"type": "moment_range",
				"on_or_after": map[string]any{"type": "fixed_utc", "value": from.UTC().Format(filterTime) + "+00:00"}}})
	}
	list := make([]any, len(fields))
	for i, f := range fields {
		list[i] = f
	}
	return map[string]any{
		"query":   map[string]any{"type": "and", "queries": queries},
		"sort":    []any{map[string]any{"direction": "asc", "field": regular}},
		"_fields": map[string]any{objType: list},
		"_limit":  searchPageSize,
	}
}
