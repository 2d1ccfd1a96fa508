package closefake

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// listSpec is how one offset-paginated list endpoint behaves. Close's
// framework (flask-mongorest) ignores parameters it does not know, an
// unknown filter operator and an _order_by outside the allowed list; the
// fake does the same unless Options.StrictFilters is set.
type listSpec struct {
	kind string
	// resource is the max_skip key shared by related paths ("/activity/"
	// for every /activity/<type>/); the path itself is tried first.
	resource string
	// maxLimit caps _limit (400 past it); 0 means the endpoint returns
	// everything in one response and ignores paging parameters.
	maxLimit int
	// scope is the subset of the kind this path lists at all.
	scope func(o object) bool
	// filters are exact-match parameters, each also as <field>__in.
	filters []string
	// dateFilters accept __gt, __gte, __lt and __lte.
	dateFilters []string
	// orderBy are the _order_by fields (also with a leading "-").
	orderBy      []string
	defaultOrder string // "" orders by id
	// match applies endpoint-specific parameters, named in params.
	match  func(o object, q url.Values) bool
	params []string
	total  bool                                  // adds total_results
	extra  func(matched []object) map[string]any // aggregate top-level keys
	model  string                                // 404 model name; default the kind's
}

// Parameters every list endpoint understands.
var pagingParams = []string{"_skip", "_limit", "_fields", "_order_by"}

var dateOps = map[string]func(a, b string) bool{
	"gte": func(a, b string) bool { return a >= b }, "gt": func(a, b string) bool { return a > b },
	"lte": func(a, b string) bool { return a <= b }, "lt": func(a, b string) bool { return a < b },
}

// dateCond is one date filter: field op value, value as a timeKey.
type dateCond struct {
	field string
	op    func(a, b string) bool
	value string
}

func (c dateCond) ok(o object) bool {
	v, ok := o[c.field].(string)
	return ok && v != "" && c.op(timeKey(v), c.value)
}

// msgUnknownCount refuses a _limit=0 count probe where Close sends no
// total_results: what it answers there is not known (close-api.md §3.1
// documents the probe only with a count), so closesync must not rely on it.
const msgUnknownCount = "closefake: _limit=0 is a count probe, and %s sends no total_results here: what Close answers to it is unknown"

// countProbe refuses _limit=0 unless the listing counts.
func countProbe(q url.Values, path string, counts bool) *apiError {
	if !counts && q.Get("_limit") == "0" {
		return errorf(http.StatusBadRequest, msgUnknownCount, path)
	}
	return nil
}

// paging reads _skip and _limit with flask-mongorest's checks and
// messages, then applies the resource's max_skip.
func (s *Server) paging(q url.Values, path, resource string, maxLimit int) (skip, limit int, e *apiError) {
	limit = min(100, maxLimit)
	if v := q.Get("_limit"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return 0, 0, errorf(http.StatusBadRequest, `_limit must be an integer (got "%s" instead).`, v)
		case n > maxLimit:
			return 0, 0, errorf(http.StatusBadRequest, msgMaxLimit, maxLimit)
		case n < 0:
			return 0, 0, errorf(http.StatusBadRequest, `_limit must be a non-negative integer (got "%s" instead).`, v)
		}
		limit = n
	}
	if v := q.Get("_skip"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			return 0, 0, errorf(http.StatusBadRequest, `_skip must be an integer (got "%s" instead).`, v)
		case n < 0:
			return 0, 0, errorf(http.StatusBadRequest, `_skip must be a non-negative integer (got "%s" instead).`, v)
		}
		skip = n
	}
	if ms := s.maxSkip(path, resource); skip > ms {
		s.refusedMu.Lock()
		if s.refused == nil {
			s.refused = map[string]int{}
		}
		s.refused[path]++
		s.refusedMu.Unlock()
		return 0, 0, errorf(http.StatusBadRequest, msgMaxSkip, ms)
	}
	return skip, limit, nil
}

// strictMaxSkip is each offset resource's max_skip unless Options.MaxSkip
// sets one. Close varies it per resource and publishes none; the only one
// seen (250000, on /activity/email/) is far past what a test reaches, so
// the fake is stricter than any Close resource is known to be: small caps,
// different per resource (a client must read the number from the 400, not
// assume one), below the page size on /lead/ (a cap can be smaller than a
// page). Every other offset resource has defaultMaxSkip.
var strictMaxSkip = map[string]int{
	"/lead/":        150, // pages of 200: the second page is already refused
	"/contact/":     250, // Airbyte's GET /contact/?_skip=2100 fails, as it does on Close
	"/opportunity/": 250,
	"/task/":        250,
	"/activity/":    200, // every /activity/<type>/ too
	"/user/":        250,
}

// defaultMaxSkip is the max_skip of an offset resource strictMaxSkip does
// not name (custom fields, custom objects, configuration collections).
const defaultMaxSkip = 250

func (s *Server) maxSkip(path, resource string) int {
	for _, k := range []string{path, resource, "*"} {
		if v, ok := s.opts.MaxSkip[k]; ok && k != "" {
			return v
		}
	}
	for _, k := range []string{path, resource} {
		if v, ok := strictMaxSkip[k]; ok && k != "" {
			return v
		}
	}
	return defaultMaxSkip
}

// compile turns a list request's filters into a predicate and an order.
func (s *Server) compile(spec *listSpec, q url.Values) (func(object) bool, string, *apiError) {
	var conds []dateCond
	for key, vals := range q {
		if contains(pagingParams, key) || contains(spec.params, key) {
			continue
		}
		field, op, _ := cutLast(key, "__")
		if contains(spec.filters, key) || (op == "in" && contains(spec.filters, field)) {
			continue
		}
		if f, ok := dateOps[op]; ok && contains(spec.dateFilters, field) {
			t, ok := parseTime(vals[0])
			if !ok {
				return nil, "", errorf(http.StatusBadRequest, "Invalid date for %s: %q", key, vals[0])
			}
			conds = append(conds, dateCond{field, f, timeKey(fmtTime(t))})
			continue
		}
		if s.opts.StrictFilters {
			return nil, "", errorf(http.StatusBadRequest, "Unknown filter: %s", key)
		}
	}
	order := spec.defaultOrder
	if v := q.Get("_order_by"); v != "" {
		if contains(spec.orderBy, strings.TrimPrefix(v, "-")) {
			order = v
		} else if s.opts.StrictFilters {
			return nil, "", errorf(http.StatusBadRequest, "Invalid _order_by: %s", v)
		}
	}
	pred := func(o object) bool {
		if spec.scope != nil && !spec.scope(o) {
			return false
		}
		if !matchExact(o, q, spec.filters) {
			return false
		}
		for _, c := range conds {
			if !c.ok(o) {
				return false
			}
		}
		return spec.match == nil || spec.match(o, q)
	}
	return pred, order, nil
}

// cutLast splits key at the last sep: "date_created__gte" -> field
// "date_created", op "gte".
func cutLast(key, sep string) (string, string, bool) {
	i := strings.LastIndex(key, sep)
	if i < 0 {
		return key, "", false
	}
	return key[:i], key[i+len(sep):], true
}

// matchExact applies field=value and field__in=a,b for fields. An empty
// value matches null, as flask-mongorest reads it.
func matchExact(o object, q url.Values, fields []string) bool {
	for _, f := range fields {
		if v, ok := q[f]; ok && !valueIs(o[f], v[0]) {
			return false
		}
		if v, ok := q[f+"__in"]; ok {
			found := false
			for _, x := range strings.Split(v[0], ",") {
				if valueIs(o[f], x) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func valueIs(have any, want string) bool {
	switch h := have.(type) {
	case nil:
		return want == "" || want == "null"
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(want))
		return err == nil && b == h
	case string:
		return h == want
	case float64:
		f, err := strconv.ParseFloat(want, 64)
		return err == nil && f == h
	case int:
		n, err := strconv.Atoi(want)
		return err == nil && n == h
	}
	return fmt.Sprint(have) == want
}

// sortObjects orders by field (prefix "-" for descending), ties by id
// ascending; without a field, by id.
func sortObjects(objs []object, order string) {
	field, desc := strings.TrimPrefix(order, "-"), strings.HasPrefix(order, "-")
	if field == "" {
		slices.SortFunc(objs, func(a, b object) int { return strings.Compare(a["id"].(string), b["id"].(string)) })
		return
	}
	type keyed struct {
		o   object
		key any
		id  string
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs {
		ks[i] = keyed{o, sortKey(o[field]), o["id"].(string)}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		c := compareKeys(a.key, b.key)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for i := range ks {
		objs[i] = ks[i].o
	}
}

// sortKey makes a value comparable: numbers as float64, dates as
// timeKeys, other strings as they are; nil sorts first.
func sortKey(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case string:
		if len(x) >= 10 && x[4] == '-' && x[7] == '-' {
			return timeKey(x)
		}
		return x
	case bool:
		if x {
			return 1.0
		}
		return 0.0
	}
	return nil
}

func compareKeys(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	fa, aNum := a.(float64)
	fb, bNum := b.(float64)
	if aNum && bNum {
		return cmp.Compare(fa, fb)
	}
	if aNum != bNum { // numbers before strings
		if aNum {
			return -1
		}
		return 1
	}
	return strings.Compare(a.(string), b.(string))
}

// listingCache keeps the filtered, sorted objects of recent listings (a
// path and its query minus paging) for the current data version, so
// walking a large collection page by page sorts it once.
type listingCache struct {
	version int
	entries map[string][]object
}

func (s *Server) listing(key string, build func() []object) []object {
	c := &s.listings
	if c.entries == nil || c.version != s.version {
		c.entries, c.version = map[string][]object{}, s.version
	}
	if l, ok := c.entries[key]; ok {
		return l
	}
	l := build()
	if len(c.entries) >= 64 {
		clear(c.entries)
	}
	c.entries[key] = l
	return l
}

func listingKey(path string, q url.Values) string {
	q2 := url.Values{}
	for k, v := range q {
		if k != "_skip" && k != "_limit" && k != "_fields" {
			q2[k] = v
		}
	}
	return path + "?" + q2.Encode()
}

// filtered returns the kind's objects matching pred in order, cached.
func (s *Server) filtered(key, kind string, pred func(object) bool, order string) []object {
	return s.listing(key, func() []object {
		var out []object
		if c := s.cols[kind]; c != nil {
			for _, id := range c.ids() {
				if o := c.objs[id]; pred(o) {
					out = append(out, o)
				}
			}
		}
		if order != "" {
			sortObjects(out, order)
		}
		return out
	})
}

// list serves a generic list endpoint.
func (s *Server) list(w http.ResponseWriter, r *request, spec *listSpec) {
	skip, limit := 0, 0
	if spec.maxLimit > 0 {
		var e *apiError
		if skip, limit, e = s.paging(r.q, r.path, spec.resource, spec.maxLimit); e != nil {
			writeErr(w, e)
			return
		}
		if e = countProbe(r.q, r.path, spec.total); e != nil {
			writeErr(w, e)
			return
		}
	}
	pred, order, e := s.compile(spec, r.q)
	if e != nil {
		writeErr(w, e)
		return
	}
	s.mu.Lock()
	matched := s.filtered(listingKey(r.path, r.q), spec.kind, pred, order)
	body := s.page(spec.kind, matched, skip, limit, spec.maxLimit == 0, splitFields(r.q.Get("_fields")))
	if spec.total {
		body["total_results"] = len(matched)
	}
	if spec.extra != nil {
		for k, v := range spec.extra(matched) {
			body[k] = v
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// page renders objs[skip:skip+limit] (or all of them) in Close's envelope.
// The caller holds s.mu.
func (s *Server) page(kind string, objs []object, skip, limit int, all bool, fields []string) map[string]any {
	end := len(objs)
	if all {
		skip = 0
	} else {
		skip = min(skip, len(objs))
		end = min(skip+limit, len(objs))
	}
	data := make([]any, 0, end-skip)
	for _, o := range objs[skip:end] {
		data = append(data, selectFields(s.render(kind, o, true), fields))
	}
	return map[string]any{"data": data, "has_more": end < len(objs)}
}

// one serves /<path>/{id}/ for a list endpoint: the object if it is in
// the path's scope, else Close's 404.
func (s *Server) one(w http.ResponseWriter, r *request, spec *listSpec, id string) {
	s.mu.Lock()
	o, ok := s.get(spec.kind, id)
	if ok && spec.scope != nil && !spec.scope(o) {
		ok = false
	}
	var body object
	if ok {
		body = selectFields(s.render(spec.kind, o, true), splitFields(r.q.Get("_fields")))
	}
	s.mu.Unlock()
	if !ok {
		writeErr(w, s.notFound(spec, o))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) notFound(spec *listSpec, o object) *apiError {
	model := spec.model
	if model == "" {
		model = kinds[spec.kind].modelName(o)
	}
	return errorf(http.StatusNotFound, "Empty query: %s matching query does not exist.", model)
}
