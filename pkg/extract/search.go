package extract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/schema"
)

// Search reads POST /data/search/ (Advanced Filtering) for the object type
// its one source names in Params ("object_type"), with cursor paging. Such
// a report is incremental on Strategy.Field: see (*run).search.
const Search Paging = "search"

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
)

// searchTypeLists names, per searchable object type whose custom fields
// hang off types of their own, the list whose objects carry those fields'
// definitions in fields[].id. A search returns only the fields its _fields
// names (bare ids without it), so every custom field must be asked for by
// id; Close's own example and Airbyte's connector take them from
// /custom_object_type/.
var searchTypeLists = map[string]string{"custom_object": "/custom_object_type/"}

// searchFieldLists names, per searchable object type, where its custom
// field definitions are listed (and shared fields associated with it).
var searchFieldLists = map[string]string{"contact": "/custom_field/contact/"}

// search reads a Search report: a cursor walk over the object type's
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
func (x *run) search(ctx context.Context, c Client) error {
	r := x.req.Report
	if len(r.Sources) != 1 {
		return fmt.Errorf("%s: a search report reads exactly one source, not %d", r.Name, len(r.Sources))
	}
	s := r.Sources[0]
	objType := s.Params.Get("object_type")
	if objType == "" {
		return fmt.Errorf("%s: search source %s names no object_type", r.Name, s.Path)
	}
	from, err := x.searchFrom() // its errors name the report
	if err != nil {
		return err
	}
	fields, ok, err := searchFields(ctx, c, objType, r.Table)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if !ok {
		return nil // no types defined: there can be no objects
	}
	if err := x.searchWalks(ctx, c, s, objType, fields, from); err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	if b := x.bookmark(); b != "" && b != x.req.Bookmark && b != x.emitted {
		return x.emit(Batch{Bookmark: b, Page: x.page + 1})
	}
	return nil
}

// searchFrom is where the first walk starts: the bookmark less the overlap
// (and the attribution window), else the start date; zero reads all.
func (x *run) searchFrom() (time.Time, error) {
	r := x.req.Report
	if ws, ok := x.windowStart(); ok {
		return ws, nil
	}
	from := x.req.StartDate
	b, ok, err := x.resumePoint(x.req.Now.Add(time.Minute))
	if err != nil {
		return time.Time{}, err
	}
	if ok {
		window := r.Strategy.Window
		if x.req.Window > 0 {
			window = x.req.Window
		}
		from = b.Add(-r.Strategy.Overlap - window)
	}
	if from.Before(x.req.StartDate) {
		from = x.req.StartDate
	}
	return from, nil
}

// searchFields lists what the walk asks for: the table's JSON columns and,
// when the table has a custom column, custom.<id> for every custom field
// of the object type. ok is false when the organization defines no types
// for an object type that needs one, so no object can exist.
func searchFields(ctx context.Context, c Client, objType string, t schema.Table) (fields []string, ok bool, err error) {
	hasCustom := false
	for _, col := range t.Columns {
		switch col.Source {
		case schema.FromJSON:
			fields = append(fields, col.JSONPath())
		case schema.FromCustom:
			hasCustom = true
		}
	}
	if !hasCustom {
		return fields, true, nil
	}
	if path, ok := searchFieldLists[objType]; ok {
		ids, err := customFieldIDs(ctx, c, path, objType)
		if err != nil {
			return nil, false, err
		}
		for _, id := range ids {
			fields = append(fields, "custom."+id)
		}
		return fields, true, nil
	}
	path, ok := searchTypeLists[objType]
	if !ok {
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
	err := c.ListOffset(ctx, path, nil, 1000, func(p closeapi.Page) error {
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
	err = c.ListOffset(ctx, "/custom_field/shared/", nil, 1000, func(p closeapi.Page) error {
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

// searchWalks runs cursor walks from from until one ends on its own.
func (x *run) searchWalks(ctx context.Context, c Client, s Source, objType string, fields []string, from time.Time) error {
	r := x.req.Report
	field := r.Strategy.Field
	// Values older than this were not changed while the run went on.
	settled := x.req.Now.Add(-r.Strategy.Overlap)
	var pos time.Time // the walk's position: see search
	stalls := 0
	for {
		read := 0
		err := c.Search(ctx, x.searchUntil(searchBody(objType, field, fields, from), objType, field), func(p closeapi.Page) error {
			b, err := x.pageBatch(p.Data, s.Tag)
			if err != nil {
				return err
			}
			for _, raw := range p.Data {
				if v, ok := timeField(raw, field); ok && v.Before(settled) && v.After(pos) {
					pos = v
				}
			}
			read += len(p.Data)
			if bm := x.positionBookmark(pos); bm != "" {
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

// positionBookmark is the bookmark for a walk position: "" when it would
// not move the stored or last emitted bookmark forward.
func (x *run) positionBookmark(pos time.Time) string {
	if pos.IsZero() || !x.joinsBookmark() {
		return ""
	}
	if prev, err := parseTime(x.req.Bookmark); err == nil && !pos.After(prev) {
		return ""
	}
	if prev, err := parseTime(x.emitted); err == nil && !pos.After(prev) {
		return ""
	}
	return pos.UTC().Format(time.RFC3339Nano)
}

func fmtPos(t time.Time) string {
	if t.IsZero() {
		return "(the start)"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// timeField reads a timestamp field of a raw record.
func timeField(raw json.RawMessage, field string) (time.Time, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return time.Time{}, false
	}
	var s string
	if json.Unmarshal(obj[field], &s) != nil || s == "" {
		return time.Time{}, false
	}
	t, err := parseTime(s)
	return t, err == nil
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
				"on_or_after": map[string]any{"type": "fixed_utc", "value": from.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"}}})
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
