package closefake

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIKey is the key the fake accepts unless Options.APIKey is set.
const DefaultAPIKey = "api_demo0000000000000000000000"

// Options configure the fake.
type Options struct {
	Seed  int64
	Scale int // number of leads (default 100); everything else follows from it
	// APIKey is the accepted key (default DefaultAPIKey).
	APIKey string
	// Now is the fake's clock (default time.Now). Generated dates lie in
	// the two years before it; mutations stamp date_updated with it.
	Now func() time.Time
	// MaxSkip caps _skip per resource path ("/lead/", "/activity/", ...);
	// the key "*" sets the default (250000).
	MaxSkip map[string]int
	// RateLimit is requests per second per endpoint group; 0 = unlimited.
	RateLimit int
	// Latency is added to every response.
	Latency time.Duration
	// FailureRate is the fraction of requests answered 502, 503 or 504.
	FailureRate float64
	// Deny answers every request to a path ("/event/") with a status, as
	// Close does for what a key or plan may not read: 403, 402 (plan limit),
	// or 400 on /event/ for keys without event log access.
	Deny map[string]int
}

// Kinds of objects the fake holds.
const (
	KindLead              = "lead"
	KindContact           = "contact"
	KindOpportunity       = "opportunity"
	KindTask              = "task"
	KindUser              = "user"
	KindLeadStatus        = "lead_status"
	KindOpportunityStatus = "opportunity_status"
	KindActivity          = "activity"
	KindCustomField       = "custom_field"
	KindEvent             = "event"
)

var idPrefix = map[string]string{
	KindLead: "lead", KindContact: "cont", KindOpportunity: "oppo", KindTask: "task", KindUser: "user",
	KindLeadStatus: "stat", KindOpportunityStatus: "stat", KindActivity: "acti", KindCustomField: "cf", KindEvent: "ev",
}

// Server is the fake API. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	orgID    string
	requests atomic.Int64

	mu       sync.Mutex
	rng      *rand.Rand
	objs     map[string]map[string]map[string]any // kind -> id -> object
	failNext int
	failCode int
	buckets  map[string]*bucket
	// quietEvents leaves data out of events logged during generation.
	quietEvents bool
	// version counts mutations; idx caches the child index of that version.
	version    int
	idx        childIndex
	idxVersion int
	// listings caches the filtered, sorted objects of a listing (its query
	// without _skip/_limit) for the current version, so paging through a
	// large collection sorts it once.
	listings        map[string][]map[string]any
	listingsVersion int
}

// cachedListing returns the listing for key, computing it with build once
// per data version. The caller holds s.mu.
func (s *Server) cachedListing(key string, build func() []map[string]any) []map[string]any {
	if s.listings == nil || s.listingsVersion != s.version {
		s.listings, s.listingsVersion = map[string][]map[string]any{}, s.version
	}
	if l, ok := s.listings[key]; ok {
		return l
	}
	l := build()
	if len(s.listings) > 64 {
		clear(s.listings)
	}
	s.listings[key] = l
	return l
}

// listingKey identifies a listing: path and query minus paging.
func listingKey(r *http.Request) string {
	q := r.URL.Query()
	q.Del("_skip")
	q.Del("_limit")
	q.Del("_fields")
	return r.URL.Path + "?" + q.Encode()
}

// New builds the fake's data.
func New(opts Options) *Server {
	if opts.Scale <= 0 {
		opts.Scale = 100
	}
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, rng: rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)), objs: map[string]map[string]map[string]any{},
		buckets: map[string]*bucket{}}
	s.generate()
	return s
}

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// newID makes a Close-style id: prefix_ and 22 base62 characters.
func (s *Server) newID(kind string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return idPrefix[kind] + "_" + string(b)
}

func (s *Server) put(kind string, o map[string]any) {
	s.version++
	m := s.objs[kind]
	if m == nil {
		m = map[string]map[string]any{}
		s.objs[kind] = m
	}
	m[o["id"].(string)] = o
}

// fmtTime renders Close's usual timestamp: microsecond field, ms precision,
// explicit +00:00.
func fmtTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// Objects returns deep copies of every object of kind as the API renders
// them, sorted by id.
func (s *Server) Objects(kind string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	idx := s.children()
	for _, id := range s.sortedIDs(kind) {
		out = append(out, deepCopy(s.renderWith(kind, s.objs[kind][id], idx)))
	}
	return out
}

// Count returns how many objects of kind exist (events: within 30 days).
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == KindEvent {
		return len(s.liveEvents())
	}
	return len(s.objs[kind])
}

// IDs returns the ids of kind, sorted.
func (s *Server) IDs(kind string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedIDs(kind)
}

// Object returns a deep copy of one object.
func (s *Server) Object(kind, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[kind][id]
	if !ok {
		return nil, false
	}
	return deepCopy(s.render(kind, o)), true
}

// Requests returns how many API requests were served, failures included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// FailNext makes the next n API requests answer status.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, status
}

func (s *Server) sortedIDs(kind string) []string {
	ids := slices.Collect(maps.Keys(s.objs[kind]))
	sort.Strings(ids)
	return ids
}

// Update merges fields into an object, stamps date_updated and logs an
// "updated" event with changed_fields and previous_data.
func (s *Server) Update(kind, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[kind][id]
	if !ok {
		return fmt.Errorf("no %s %s", kind, id)
	}
	prev := map[string]any{}
	var changed []any
	for k, v := range fields {
		prev[k] = o[k]
		o[k] = deepCopyValue(v)
		changed = append(changed, k)
	}
	s.version++
	now := s.now()
	o["date_updated"] = fmtTime(now)
	s.event(kind, o, "updated", changed, prev, now)
	return nil
}

// Create adds an object (id and dates assigned unless given) and logs a
// "created" event. Leads need no children; contacts, opportunities, tasks
// and activities need a lead_id.
func (s *Server) Create(kind string, obj map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := idPrefix[kind]; !ok || kind == KindEvent {
		return "", fmt.Errorf("cannot create a %s", kind)
	}
	o := deepCopy(obj)
	if _, ok := o["id"]; !ok {
		o["id"] = s.newID(kind)
	}
	now := s.now()
	for _, k := range []string{"date_created", "date_updated"} {
		if _, ok := o[k]; !ok {
			o[k] = fmtTime(now)
		}
	}
	o["organization_id"] = s.orgID
	if kind == KindLead {
		for _, k := range []string{"addresses", "integration_links"} {
			if _, ok := o[k]; !ok {
				o[k] = []any{}
			}
		}
		o["display_name"] = o["name"]
		o["custom"] = map[string]any{}
	}
	if kind == KindContact {
		for _, k := range []string{"emails", "phones", "urls", "integration_links"} {
			if _, ok := o[k]; !ok {
				o[k] = []any{}
			}
		}
	}
	if kind == KindActivity && o["activity_at"] == nil {
		o["activity_at"] = o["date_created"]
	}
	s.put(kind, o)
	s.event(kind, o, "created", nil, nil, now)
	if kind == KindContact {
		s.touchLead(o["lead_id"], now)
	}
	return o["id"].(string), nil
}

// Delete removes an object and logs "deleted" (previous_data = the object).
// Deleting a lead deletes its contacts, opportunities, tasks and activities,
// each with its own event, as Close does.
func (s *Server) Delete(kind, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delete(kind, id, s.now())
}

func (s *Server) delete(kind, id string, now time.Time) error {
	o, ok := s.objs[kind][id]
	if !ok {
		return fmt.Errorf("no %s %s", kind, id)
	}
	if kind == KindLead {
		for _, ck := range []string{KindContact, KindOpportunity, KindTask, KindActivity} {
			for _, cid := range s.sortedIDs(ck) {
				if s.objs[ck][cid]["lead_id"] == id {
					s.delete(ck, cid, now)
				}
			}
		}
	}
	prev := deepCopy(s.render(kind, o))
	delete(s.objs[kind], id)
	s.version++
	s.event(kind, o, "deleted", nil, prev, now)
	if kind == KindContact {
		s.touchLead(o["lead_id"], now)
	}
	return nil
}

// touchLead records that a lead changed because a contact was added to or
// removed from it: Close fires a lead "updated" for that (but not for edits
// of the contact itself).
func (s *Server) touchLead(leadID any, now time.Time) {
	id, _ := leadID.(string)
	lead, ok := s.objs[KindLead][id]
	if !ok {
		return
	}
	lead["date_updated"] = fmtTime(now)
	s.version++
	s.event(KindLead, lead, "updated", []any{"contacts"}, map[string]any{}, now)
}

// MergeLeads moves source's children to destination and deletes source, as
// POST /lead/merge/ does, logging a "merged" event.
func (s *Server) MergeLeads(source, destination string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.objs[KindLead][source]
	if !ok {
		return fmt.Errorf("no lead %s", source)
	}
	dst, ok := s.objs[KindLead][destination]
	if !ok {
		return fmt.Errorf("no lead %s", destination)
	}
	now := s.now()
	for _, ck := range []string{KindContact, KindOpportunity, KindTask, KindActivity} {
		for _, o := range s.objs[ck] {
			if o["lead_id"] == source {
				o["lead_id"] = destination
				o["date_updated"] = fmtTime(now)
			}
		}
	}
	dst["date_updated"] = fmtTime(now)
	prev := deepCopy(s.render(KindLead, src))
	delete(s.objs[KindLead], source)
	s.version++
	ev := s.event(KindLead, dst, "merged", nil, nil, now)
	ev["meta"] = map[string]any{"merge_source_lead_id": source, "merge_destination_lead_id": destination,
		"request_method": "POST", "request_path": "/api/v1/lead/merge/"}
	s.event(KindLead, src, "deleted", nil, prev, now)
	return nil
}

// activityEventTypes are the event log's object types of activities.
var activityEventTypes = map[string]string{
	"Call": "call", "Email": "email", "EmailThread": "email_thread", "Note": "note", "Meeting": "meeting", "SMS": "sms",
	"Created": "created", "LeadStatusChange": "lead_status_change", "OpportunityStatusChange": "opportunity_status_change",
	"TaskCompleted": "task_completed", "WhatsAppMessage": "whatsapp_message", "FormSubmission": "form_submission",
	"Custom": "custom_activity",
}

// event logs an event about o.
func (s *Server) event(kind string, o map[string]any, action string, changed []any, prev map[string]any, at time.Time) map[string]any {
	objType := kind
	switch kind {
	case KindTask:
		objType = "task." + fmt.Sprint(o["_type"])
	case KindActivity:
		objType = "activity." + activityEventTypes[fmt.Sprint(o["_type"])]
	case KindLeadStatus:
		objType = "status.lead"
	case KindOpportunityStatus:
		objType = "status.opportunity"
	case KindCustomField:
		objType = "custom_fields." + fmt.Sprint(o["object_type"])
	}
	leadID := o["lead_id"]
	if kind == KindLead {
		leadID = o["id"]
	}
	ev := map[string]any{
		"id": s.newID(KindEvent), "date_created": fmtTime(at), "date_updated": fmtTime(at), "organization_id": s.orgID,
		"user_id": s.anyUser(), "request_id": "req_" + s.newID(KindEvent)[3:], "api_key_id": nil, "object_type": objType,
		"object_id": o["id"], "lead_id": leadID, "action": action, "changed_fields": changed, "meta": map[string]any{},
		"data": nil, "previous_data": nil,
	}
	if action != "deleted" && !s.quietEvents {
		ev["data"] = deepCopy(s.render(kind, o))
	}
	if prev != nil {
		ev["previous_data"] = prev
	}
	if changed == nil {
		ev["changed_fields"] = []any{}
	}
	s.put(KindEvent, ev)
	return ev
}

func (s *Server) anyUser() any {
	for _, id := range s.sortedIDs(KindUser) {
		return id
	}
	return nil
}

// liveEvents are the events within the 30-day retention.
func (s *Server) liveEvents() []map[string]any {
	cutoff := fmtTime(s.now().Add(-30 * 24 * time.Hour))
	var out []map[string]any
	for _, e := range s.objs[KindEvent] {
		if e["date_updated"].(string) >= cutoff {
			out = append(out, e)
		}
	}
	return out
}

// childIndex maps lead id -> embedded field -> child objects (sorted by id),
// built once per request so rendering a page of leads stays linear.
type childIndex map[string]map[string][]any

func (s *Server) children() childIndex {
	if s.idx != nil && s.idxVersion == s.version {
		return s.idx
	}
	idx := childIndex{}
	for field, ck := range map[string]string{"contacts": KindContact, "opportunities": KindOpportunity, "tasks": KindTask} {
		for _, id := range s.sortedIDs(ck) {
			c := s.objs[ck][id]
			lid, _ := c["lead_id"].(string)
			if idx[lid] == nil {
				idx[lid] = map[string][]any{}
			}
			idx[lid][field] = append(idx[lid][field], c)
		}
	}
	s.idx, s.idxVersion = idx, s.version
	return idx
}

// render produces the API's view of a stored object: leads embed their
// contacts, opportunities and tasks. idx may be nil for a single object.
func (s *Server) render(kind string, o map[string]any) map[string]any {
	return s.renderWith(kind, o, nil)
}

func (s *Server) renderWith(kind string, o map[string]any, idx childIndex) map[string]any {
	if kind != KindLead {
		return o
	}
	if idx == nil {
		idx = s.children()
	}
	r := maps.Clone(o)
	kids := idx[o["id"].(string)]
	for _, field := range []string{"contacts", "opportunities", "tasks"} {
		arr := kids[field]
		if arr == nil {
			arr = []any{}
		}
		r[field] = arr
	}
	return r
}

func deepCopy(o map[string]any) map[string]any {
	return deepCopyValue(o).(map[string]any)
}

func deepCopyValue(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

var _ http.Handler = (*Server)(nil)
