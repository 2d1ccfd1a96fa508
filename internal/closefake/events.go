package closefake

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxEventLimit is the event log's page size cap and default.
const maxEventLimit = 50

// event is one event log entry. Events are kept as structs, not maps:
// there is one per recent change, and data points at the (immutable)
// stored object instead of copying it.
type event struct {
	id, objectType, objectID, leadID, action, userID, requestID string
	dateCreated, dateUpdated                                    string
	key                                                         string // timeKey(dateUpdated)
	changed                                                     []string
	meta                                                        map[string]any
	kind                                                        string // collection of data
	data                                                        object // the object after the change; nil for deletes
	prev                                                        object // previous_data: changed fields' old values, or the deleted object
}

type eventLog struct {
	byID   map[string]*event
	sorted []*event // newest first (date_updated, then id, descending); nil when stale
}

// logEvent records a change of o. The caller holds s.mu (or is New).
func (s *Server) logEvent(kind string, o object, action string, changed []string, prev object, at time.Time, userID string, meta map[string]any) *event {
	k := kinds[kind]
	lead, _ := o["lead_id"].(string)
	if kind == KindLead {
		lead = o["id"].(string)
	}
	base := apiPrefix + apiPath(kind, o)
	method, path := "PUT", base+o["id"].(string)+"/"
	switch action {
	case "created":
		method, path = "POST", base
	case "deleted":
		method = "DELETE"
	case "merged":
		method, path = "POST", apiPrefix+"/lead/merge/"
	}
	m := map[string]any{"request_method": method, "request_path": path}
	for key, v := range meta {
		m[key] = v
	}
	ts := fmtTime(at)
	e := &event{id: s.newID("ev"), objectType: k.objectType(o), objectID: o["id"].(string), leadID: lead, action: action,
		userID: userID, requestID: "req_" + s.newID("x")[2:], dateCreated: ts, dateUpdated: ts, key: timeKey(ts),
		changed: changed, meta: m, kind: kind, prev: prev}
	if action != "deleted" {
		e.data = o
	}
	if s.events.byID == nil {
		s.events.byID = map[string]*event{}
	}
	s.events.byID[e.id] = e
	s.events.sorted = nil
	s.version++
	s.deliverEvent(e)
	return e
}

// apiPath is the list path an object of kind is served under.
func apiPath(kind string, o object) string {
	switch kind {
	case KindActivity:
		t, _ := activityTypeOf(o["_type"])
		return "/activity/" + t.path + "/"
	case KindCustomField:
		return "/custom_field/" + fmt.Sprint(o["object_type"]) + "/"
	case KindLeadStatus:
		return "/status/lead/"
	case KindOpportunityStatus:
		return "/status/opportunity/"
	case "bulk_action":
		return "/bulk_action/" + fmt.Sprint(o["bulk_kind"]) + "/"
	}
	for _, d := range dimensions {
		if d.kind == kind {
			return d.path
		}
	}
	return "/" + kind + "/"
}

func (s *Server) cutoff() string { return timeKey(fmtTime(s.now().Add(-eventRetention))) }

func (s *Server) live(e *event) bool { return e.key >= s.cutoff() }

// liveEvents are the events within the retention, newest first.
func (s *Server) liveEvents() []*event {
	if s.events.sorted == nil {
		all := make([]*event, 0, len(s.events.byID))
		for _, e := range s.events.byID {
			all = append(all, e)
		}
		slices.SortFunc(all, func(a, b *event) int {
			if c := strings.Compare(b.key, a.key); c != 0 {
				return c
			}
			return strings.Compare(b.id, a.id)
		})
		s.events.sorted = all
	}
	return trimExpired(s.events.sorted, s.cutoff())
}

func (s *Server) liveEventsByID() []*event {
	evs := slices.Clone(s.liveEvents())
	slices.SortFunc(evs, func(a, b *event) int { return strings.Compare(a.id, b.id) })
	return evs
}

// renderEvent renders an event as the API does; data is the object as
// the API renders it. The caller holds s.mu.
func (s *Server) renderEvent(e *event) map[string]any {
	changed := make([]any, len(e.changed))
	for i, c := range e.changed {
		changed[i] = c
	}
	var data, prev any
	if e.data != nil {
		data = s.render(e.kind, e.data, true)
	}
	if e.prev != nil {
		prev = e.prev
	}
	var user any
	if e.userID != "" {
		user = e.userID
	}
	var lead any
	if e.leadID != "" {
		lead = e.leadID
	}
	return map[string]any{"id": e.id, "date_created": e.dateCreated, "date_updated": e.dateUpdated, "organization_id": s.orgID,
		"user_id": user, "request_id": e.requestID, "api_key_id": nil, "oauth_client_id": nil, "oauth_scope": nil,
		"object_type": e.objectType, "object_id": e.objectID, "lead_id": lead, "action": e.action, "changed_fields": changed,
		"meta": e.meta, "data": data, "previous_data": prev}
}

// eventCursor is where a page of the event log ends (next: older events
// follow) or starts (previous: newer ones precede), with the date_updated
// filters of the walk: a cursor carries them, and a client following one
// resends only the other filters.
type eventCursor struct {
	Dir   string     `json:"d"` // "n" (older than key) or "p" (newer than key)
	Key   string     `json:"k"`
	ID    string     `json:"i"`
	Dates [][]string `json:"f,omitempty"` // [op, value] pairs
}

func (c eventCursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeEventCursor(v string) (eventCursor, bool) {
	var c eventCursor
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || json.Unmarshal(b, &c) != nil || (c.Dir != "n" && c.Dir != "p") {
		return c, false
	}
	return c, true
}

// eventFilters are the event log's exact-match filters.
var eventFilters = []string{"object_type", "object_id", "lead_id", "action", "user_id", "request_id"}

// serveEvents serves GET /event/: newest first, cursor-only (_skip is
// refused), _limit capped at and defaulting to 50, 30 days of history.
// Cursors are keysets on (date_updated, id), so events logged while a
// client walks do not shift its pages.
func (s *Server) serveEvents(w http.ResponseWriter, r *request) {
	q := r.q
	if q.Has("_skip") {
		writeErr(w, errorf(http.StatusBadRequest, "_skip is not supported on this endpoint. Use _cursor to paginate."))
		return
	}
	limit := maxEventLimit
	if v := q.Get("_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeErr(w, errorf(http.StatusBadRequest, `_limit must be an integer (got "%s" instead).`, v))
			return
		}
		if n < 1 {
			writeErr(w, errorf(http.StatusBadRequest, `_limit must be a positive integer (got "%s" instead).`, v))
			return
		}
		limit = min(n, maxEventLimit)
	}
	var cur *eventCursor
	if v := q.Get("_cursor"); v != "" {
		c, ok := decodeEventCursor(v)
		if !ok {
			writeErr(w, fieldError("_cursor", "Invalid cursor."))
			return
		}
		cur = &c
	}
	var dates [][]string
	if cur != nil {
		dates = cur.Dates
	} else {
		for key, vals := range q {
			op, ok := strings.CutPrefix(key, "date_updated__")
			if !ok {
				continue
			}
			t, ok := parseTime(vals[0])
			if _, known := dateOps[op]; !known || !ok {
				writeErr(w, errorf(http.StatusBadRequest, "Invalid filter: %s=%s", key, vals[0]))
				return
			}
			dates = append(dates, []string{op, timeKey(fmtTime(t))})
		}
		slices.SortFunc(dates, func(a, b []string) int { return strings.Compare(a[0]+a[1], b[0]+b[1]) })
	}
	if s.opts.StrictFilters {
		for key := range q {
			if !strings.HasPrefix(key, "date_updated__") && !contains(eventFilters, key) && key != "_cursor" && key != "_limit" && key != "_fields" {
				writeErr(w, errorf(http.StatusBadRequest, "Unknown filter: %s", key))
				return
			}
		}
	}
	s.mu.Lock()
	matched := s.matchingEvents(q, dates)
	// matched is newest first; notAfter finds the first event at or past
	// (older than or equal to) a cursor's position.
	notAfter := func(key, id string) int {
		n, _ := slices.BinarySearchFunc(matched, [2]string{key, id}, func(e *event, at [2]string) int {
			if e.key > at[0] || (e.key == at[0] && e.id > at[1]) {
				return -1
			}
			return 1
		})
		return n
	}
	var start, end int
	switch {
	case cur == nil:
		end = min(limit, len(matched))
	case cur.Dir == "n":
		start = notAfter(cur.Key, cur.ID)
		if start < len(matched) && matched[start].key == cur.Key && matched[start].id == cur.ID {
			start++
		}
		end = min(start+limit, len(matched))
	default: // the page of newer events just above the cursor
		end = notAfter(cur.Key, cur.ID)
		start = max(0, end-limit)
	}
	fields := splitFields(q.Get("_fields"))
	data := make([]any, 0, end-start)
	for _, e := range matched[start:end] {
		data = append(data, selectFields(s.renderEvent(e), fields))
	}
	var next, prev any
	if end < len(matched) && end > start {
		last := matched[end-1]
		next = eventCursor{Dir: "n", Key: last.key, ID: last.id, Dates: dates}.encode()
	}
	if start > 0 && end > start {
		first := matched[start]
		prev = eventCursor{Dir: "p", Key: first.key, ID: first.id, Dates: dates}.encode()
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "cursor_next": next, "cursor_previous": prev})
}

// matchingEvents returns the live events matching the filters, newest
// first. The filtered log is cached per data version like list endpoints'
// listings; retention then only trims its tail.
func (s *Server) matchingEvents(q map[string][]string, dates [][]string) []*event {
	key := fmt.Sprint(dates)
	for _, f := range eventFilters {
		if v, ok := q[f]; ok {
			key += "&" + f + "=" + v[0]
		}
	}
	if s.eventListings == nil || s.eventListingsVersion != s.version {
		s.eventListings, s.eventListingsVersion = map[string][]*event{}, s.version
	}
	matched, ok := s.eventListings[key]
	if !ok {
		s.liveEvents() // sorts the log
		for _, e := range s.events.sorted {
			if e.matches(q, dates) {
				matched = append(matched, e)
			}
		}
		if len(s.eventListings) >= 64 {
			clear(s.eventListings)
		}
		s.eventListings[key] = matched
	}
	return trimExpired(matched, s.cutoff())
}

// trimExpired cuts the events older than cutoff off a newest-first list.
func trimExpired(evs []*event, cutoff string) []*event {
	n, _ := slices.BinarySearchFunc(evs, cutoff, func(e *event, cut string) int {
		if e.key >= cut {
			return -1
		}
		return 1
	})
	return evs[:n]
}

func (e *event) matches(q map[string][]string, dates [][]string) bool {
	for _, f := range eventFilters {
		v, ok := q[f]
		if !ok {
			continue
		}
		var have string
		switch f {
		case "object_type":
			have = e.objectType
		case "object_id":
			have = e.objectID
		case "lead_id":
			have = e.leadID
		case "action":
			have = e.action
		case "user_id":
			have = e.userID
		case "request_id":
			have = e.requestID
		}
		if have != v[0] {
			return false
		}
	}
	for _, d := range dates {
		if !dateOps[d[0]](e.key, d[1]) {
			return false
		}
	}
	return true
}

// serveEvent serves GET /event/{id}/.
func (s *Server) serveEvent(w http.ResponseWriter, r *request, id string) {
	s.mu.Lock()
	e := s.events.byID[id]
	var body map[string]any
	if e != nil && s.live(e) {
		body = selectFields(s.renderEvent(e), splitFields(r.q.Get("_fields")))
	}
	s.mu.Unlock()
	if body == nil {
		writeErr(w, errorf(http.StatusNotFound, "Empty query: Event matching query does not exist."))
		return
	}
	writeJSON(w, http.StatusOK, body)
}
