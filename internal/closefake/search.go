package closefake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Advanced Filtering (POST /data/search/) limits, per close-api.md §3.2.
const (
	searchMaxLimit     = 200
	searchDefaultLimit = 100
	searchWalkCap      = 10000            // objects one cursor walk returns at most
	searchCursorTTL    = 30 * time.Second // on Options.Now
	searchSnapshots    = 256              // walks remembered at once
)

// searchable maps a query's object_type to the collection it searches.
var searchable = map[string]string{"lead": KindLead, "contact": KindContact, "opportunity": KindOpportunity,
	"custom_object": KindCustomObject}

// searchWalk is the snapshot a cursor walks: the matching ids in order,
// taken by the first request (like a search engine's scroll context).
type searchWalk struct {
	kind string
	ids  []string
}

// searchCursor is what a cursor string encodes.
type searchCursor struct {
	Walk   int   `json:"w"`
	Offset int   `json:"o"`
	Issued int64 `json:"t"` // Unix nanoseconds on Options.Now
}

// defaultMaxSearchFields is Options.MaxSearchFields unless set.
const defaultMaxSearchFields = 50

type searchState struct {
	walks map[int]*searchWalk
	next  int
}

// serveSearch serves POST /data/search/ for leads, contacts,
// opportunities and custom object instances (object_type custom_object,
// the only way to list them across leads). The query supports and, or, not, object_type, match_all,
// id_set and field_condition (moment_range, term, exists, number_range,
// text) on regular and custom fields; sort is a list of regular_field
// sorts with ties broken by id. Results are bare {"id"} objects unless
// _fields names fields for the object type. A page's cursor is valid for
// 30 seconds; one walk returns at most 10,000 objects (then the cursor is
// null), fewer with results_limit.
func (s *Server) serveSearch(w http.ResponseWriter, r *request) {
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || body == nil {
		writeErr(w, errorf(http.StatusBadRequest, msgBadJSON))
		return
	}
	limit := searchDefaultLimit
	if v, ok := body["_limit"]; ok && v != nil {
		num, isNum := v.(json.Number)
		n, err := num.Int64()
		if !isNum || err != nil || n < 0 {
			writeErr(w, fieldError("_limit", "Not a valid integer."))
			return
		}
		if n > searchMaxLimit {
			writeErr(w, fieldError("_limit", fmt.Sprintf("Must be less than or equal to %d.", searchMaxLimit)))
			return
		}
		limit = int(n)
	}
	s.mu.Lock()
	out, e := s.searchPage(body, limit)
	s.mu.Unlock()
	if e != nil {
		writeErr(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// searchPage starts or continues a walk and renders one page. The caller
// holds s.mu.
func (s *Server) searchPage(body map[string]any, limit int) (map[string]any, *apiError) {
	now := s.now()
	var walkID, offset int
	var walk *searchWalk
	if c, ok := body["cursor"].(string); ok && c != "" {
		cur, valid := decodeSearchCursor(c)
		if !valid {
			return nil, fieldError("cursor", "Invalid cursor.")
		}
		if now.Sub(time.Unix(0, cur.Issued)) > searchCursorTTL || s.searches.walks[cur.Walk] == nil {
			return nil, errorf(http.StatusBadRequest, "The cursor has expired. Cursors are valid for 30 seconds; please run the search again without a cursor.")
		}
		walkID, offset, walk = cur.Walk, cur.Offset, s.searches.walks[cur.Walk]
	} else {
		var e *apiError
		if walk, e = s.startWalk(body); e != nil {
			return nil, e
		}
		walkID = s.searches.next
		s.searches.next++
		if s.searches.walks == nil {
			s.searches.walks = map[int]*searchWalk{}
		}
		s.searches.walks[walkID] = walk
		delete(s.searches.walks, walkID-searchSnapshots)
	}
	fields, e := searchFields(body["_fields"], walk.kind)
	if e != nil {
		return nil, e
	}
	if maxFields := s.opts.MaxSearchFields; maxFields > 0 && len(fields) > maxFields {
		return nil, fieldError("_fields", fmt.Sprintf("Ensure this field has no more than %d elements.", maxFields))
	}
	end := min(offset+limit, len(walk.ids))
	data := make([]any, 0, end-offset)
	for _, id := range walk.ids[offset:end] {
		o, ok := s.get(walk.kind, id)
		if !ok {
			continue // deleted since the walk began
		}
		if fields == nil {
			data = append(data, object{"id": id})
		} else {
			row := selectFields(s.render(walk.kind, o, true), fields)
			row["id"] = id
			data = append(data, row)
		}
	}
	var cursor any
	if end < len(walk.ids) {
		b, _ := json.Marshal(searchCursor{Walk: walkID, Offset: end, Issued: now.UnixNano()})
		cursor = base64.RawURLEncoding.EncodeToString(b)
	}
	return map[string]any{"data": data, "cursor": cursor}, nil
}

func decodeSearchCursor(v string) (searchCursor, bool) {
	var c searchCursor
	b, err := base64.RawURLEncoding.DecodeString(v)
	return c, err == nil && json.Unmarshal(b, &c) == nil && c.Issued != 0
}

// startWalk runs the query and snapshots the matching ids.
func (s *Server) startWalk(body map[string]any) (*searchWalk, *apiError) {
	if body["query"] == nil {
		return nil, fieldError("query", "This field is required.")
	}
	var objType string
	pred, e := compileSearch(body["query"], &objType)
	if e != nil {
		return nil, e
	}
	kind, ok := searchable[objType]
	if objType == "" {
		return nil, fieldError("query", "The query must contain an object_type clause.")
	}
	if !ok {
		return nil, fieldError("query", fmt.Sprintf("Searching %q is not supported by this fake (lead, contact, opportunity, custom_object).", objType))
	}
	cmp, e := searchSort(body["sort"])
	if e != nil {
		return nil, e
	}
	capN := searchWalkCap
	if v, ok := body["results_limit"].(json.Number); ok {
		if n, err := v.Int64(); err == nil && n >= 0 {
			capN = min(capN, int(n))
		}
	}
	var matched []object
	for _, id := range s.col(kind).ids() {
		if o := s.cols[kind].objs[id]; pred(o) {
			matched = append(matched, o)
		}
	}
	if cmp != nil {
		sortBy(matched, cmp)
	}
	ids := make([]string, 0, min(len(matched), capN))
	for _, o := range matched[:min(len(matched), capN)] {
		ids = append(ids, o["id"].(string))
	}
	return &searchWalk{kind: kind, ids: ids}, nil
}

// searchFields reads _fields ({"lead": ["id", "name", "custom.cf_x"]}) for
// the walk's object type; nil means bare ids.
func searchFields(v any, kind string) ([]string, *apiError) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fieldError("_fields", "Must be an object keyed by object type.")
	}
	raw, ok := m[kind]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, fieldError("_fields", "Must be a list of field names.")
	}
	fields := []string{}
	for _, f := range list {
		name, ok := f.(string)
		if !ok {
			return nil, fieldError("_fields", "Must be a list of field names.")
		}
		fields = append(fields, name)
	}
	return fields, nil
}

// searchSort compiles the sort clause into a comparison; nil means by id.
func searchSort(v any) (func(a, b object) int, *apiError) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fieldError("sort", "Must be a list.")
	}
	type key struct {
		field string
		desc  bool
	}
	var keys []key
	for _, item := range list {
		m, _ := item.(map[string]any)
		f, _ := m["field"].(map[string]any)
		name, _ := f["field_name"].(string)
		if f["type"] != "regular_field" || name == "" {
			return nil, fieldError("sort", "Only regular_field sorts are supported by this fake.")
		}
		dir := m["direction"]
		if dir != "asc" && dir != "desc" {
			return nil, fieldError("sort", `direction must be "asc" or "desc".`)
		}
		keys = append(keys, key{name, dir == "desc"})
	}
	return func(a, b object) int {
		for _, k := range keys {
			c := compareKeys(sortKey(a[k.field]), sortKey(b[k.field]))
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a["id"].(string), b["id"].(string))
	}, nil
}

func sortBy(objs []object, cmp func(a, b object) int) { slices.SortStableFunc(objs, cmp) }

// compileSearch compiles a query node into a predicate and records the
// object_type it names.
func compileSearch(node any, objType *string) (func(object) bool, *apiError) {
	n, ok := node.(map[string]any)
	if !ok {
		return nil, fieldError("query", "Each query node must be an object.")
	}
	switch n["type"] {
	case "and", "or":
		subs, _ := n["queries"].([]any)
		var preds []func(object) bool
		for _, sub := range subs {
			p, e := compileSearch(sub, objType)
			if e != nil {
				return nil, e
			}
			preds = append(preds, p)
		}
		if n["type"] == "and" {
			return func(o object) bool {
				for _, p := range preds {
					if !p(o) {
						return false
					}
				}
				return true
			}, nil
		}
		return func(o object) bool {
			for _, p := range preds {
				if p(o) {
					return true
				}
			}
			return len(preds) == 0
		}, nil
	case "not":
		p, e := compileSearch(n["query"], objType)
		if e != nil {
			return nil, e
		}
		return func(o object) bool { return !p(o) }, nil
	case "object_type":
		t, _ := n["object_type"].(string)
		if *objType != "" && *objType != t {
			return nil, fieldError("query", "A query can search one object_type only.")
		}
		*objType = t
		return func(object) bool { return true }, nil
	case "match_all":
		return func(object) bool { return true }, nil
	case "id_set":
		ids, _ := n["ids"].([]any)
		set := map[any]bool{}
		for _, id := range ids {
			set[id] = true
		}
		return func(o object) bool { return set[o["id"]] }, nil
	case "field_condition":
		return compileCondition(n)
	}
	return nil, fieldError("query", fmt.Sprintf("Query node type %v is not supported by this fake.", n["type"]))
}

func compileCondition(n map[string]any) (func(object) bool, *apiError) {
	f, _ := n["field"].(map[string]any)
	var key string
	switch f["type"] {
	case "regular_field":
		key, _ = f["field_name"].(string)
	case "custom_field":
		id, _ := f["custom_field_id"].(string)
		key = "custom." + id
	}
	if key == "" || key == "custom." {
		return nil, fieldError("query", "field_condition needs a regular_field with field_name or a custom_field with custom_field_id.")
	}
	c, _ := n["condition"].(map[string]any)
	switch c["type"] {
	case "moment_range":
		var conds []dateCond
		for bound, op := range map[string]string{"on_or_after": "gte", "before": "lt"} {
			m, _ := c[bound].(map[string]any)
			if m == nil {
				continue
			}
			t, e := moment(m, bound)
			if e != nil {
				return nil, e
			}
			conds = append(conds, dateCond{key, dateOps[op], timeKey(fmtTime(t))})
		}
		return func(o object) bool {
			for _, d := range conds {
				if !d.ok(o) {
					return false
				}
			}
			return true
		}, nil
	case "term":
		values, _ := c["values"].([]any)
		return func(o object) bool {
			for _, v := range values {
				if valueIs(o[key], fmt.Sprint(v)) {
					return true
				}
				if list, ok := o[key].([]any); ok {
					for _, item := range list {
						if fmt.Sprint(item) == fmt.Sprint(v) {
							return true
						}
					}
				}
			}
			return false
		}, nil
	case "exists":
		return func(o object) bool { v, ok := o[key]; return ok && v != nil }, nil
	case "number_range":
		var checks []func(float64) bool
		for op, test := range map[string]func(a, b float64) bool{
			"gt": func(a, b float64) bool { return a > b }, "gte": func(a, b float64) bool { return a >= b },
			"lt": func(a, b float64) bool { return a < b }, "lte": func(a, b float64) bool { return a <= b }} {
			if v, ok := c[op].(json.Number); ok {
				b, _ := v.Float64()
				checks = append(checks, func(a float64) bool { return test(a, b) })
			}
		}
		return func(o object) bool {
			a, ok := sortKey(o[key]).(float64)
			if !ok {
				return false
			}
			for _, ch := range checks {
				if !ch(a) {
					return false
				}
			}
			return true
		}, nil
	case "text":
		want := strings.ToLower(fmt.Sprint(c["value"]))
		return func(o object) bool {
			v, ok := o[key].(string)
			return ok && strings.Contains(strings.ToLower(v), want)
		}, nil
	}
	return nil, fieldError("query", fmt.Sprintf("Condition type %v is not supported by this fake.", c["type"]))
}

// moment reads a moment_range bound: fixed_utc (an ISO timestamp) or
// fixed_local_date (a date, its start or end; the fake's local time is
// UTC).
func moment(m map[string]any, bound string) (time.Time, *apiError) {
	v, _ := m["value"].(string)
	switch m["type"] {
	case "fixed_utc":
		if t, ok := parseTime(v); ok {
			return t, nil
		}
	case "fixed_local_date":
		if t, err := time.Parse("2006-01-02", v); err == nil {
			if m["which"] == "end" {
				t = t.Add(24*time.Hour - time.Millisecond)
			}
			return t, nil
		}
	default:
		return time.Time{}, fieldError("query", fmt.Sprintf("Moment type %v is not supported by this fake (fixed_utc, fixed_local_date).", m["type"]))
	}
	return time.Time{}, fieldError("query", fmt.Sprintf("Invalid %s value %q.", bound, v))
}
