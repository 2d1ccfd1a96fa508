package closefake

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultAPIKey is the key the fake accepts unless Options.APIKey is set.
const DefaultAPIKey = "api_demo0000000000000000000000"

const (
	defaultScale   = 100
	eventRetention = 30 * 24 * time.Hour      // the event log keeps 30 days
	dataSpan       = 2 * 365 * 24 * time.Hour // generated dates lie in [now-dataSpan, now]
)

// Options configure the fake. The zero value is a 100-lead organisation
// on the real clock that accepts DefaultAPIKey.
type Options struct {
	// Seed, Scale and Now together determine the data: the same three give
	// byte-identical responses.
	Seed int64
	// Scale is the number of leads (default 100); everything else follows
	// from it: 1-3 contacts, 0-2 opportunities and tasks and a few
	// activities per lead, a user per hundred leads, and so on.
	Scale int
	// APIKey is the accepted key (default DefaultAPIKey).
	APIKey string
	// OrganizationID, when set, is the organisation's id instead of the
	// one drawn from Seed (every other id stays the same): two fakes with
	// one Seed are then two organisations whose object ids collide.
	OrganizationID string
	// Now is the fake's clock (default time.Now). Generated dates lie in
	// the two years before it, mutations stamp date_updated with it, the
	// event log keeps the 30 days before it and search cursors expire on
	// it. Rate limiting uses the real clock.
	Now func() time.Time
	// MaxSkip caps _skip per resource ("/lead/", "/activity/", or an exact
	// path such as "/activity/call/"); the key "*" sets it for every
	// resource not named. Unset, each offset resource has a small cap of
	// its own (strictMaxSkip, 150 to 250): Close's caps vary per resource
	// and are not published, so the fake takes the strict reading and
	// every deep walk meets one.
	MaxSkip map[string]int
	// RateLimit is the token bucket size and refill per second of each
	// endpoint group (method and first path segment); 0 means unlimited,
	// though the RateLimit header is still sent.
	RateLimit int
	// Latency is added to every response.
	Latency time.Duration
	// FailureRate is the fraction of requests answered 502, 503 or 504
	// (nginx's HTML pages, as FailNext sends them), drawn from a generator
	// seeded by Seed and used for nothing else.
	FailureRate float64
	// Deny answers every request to a path ("/event/") with a status, as
	// Close does for what a key or plan may not read: 403, 402 (plan limit),
	// or 400 on /event/ for keys without event log access.
	Deny map[string]int
	// NonPage, when set, is asked about every authenticated request (path
	// below /api/v1 with its trailing slash, e.g. "/user/" or
	// "/data/search/"); when it returns ok the fake answers 200 with body
	// as application/json, whatever it is: {"error": ...}, "", "null", an
	// HTML page, a page without data. A gateway, a WAF or a maintenance
	// page does that to Close's clients. It runs after Deny and before the
	// rate limit, and may count calls to fail only some.
	NonPage func(path string) (body string, ok bool)
	// MaxSearchFields caps the length of a POST /data/search/ _fields list
	// for one object type; a longer one is a 400 with Close's validation
	// body. Close answered 400 to lists of 110-145 lead fields while orgs
	// under 50 worked (mako-ai/mako#966), so the default is the stricter
	// reading, 50; a negative value lifts the cap.
	MaxSearchFields int
	// ExtraContactFields adds that many text custom fields of contacts
	// ("Extra 001", ...), each set on about 3 contacts in 5, for
	// organisations with many custom fields.
	ExtraContactFields int
	// StrictFilters answers 400 to query parameters an endpoint does not
	// support (a date_updated filter on /activity/, an unknown _order_by).
	// Close itself ignores them, and so does the fake by default.
	StrictFilters bool
	// MeRole is the role_id of the API key's user in the organization, in
	// /me/ and /organization/{id}/ memberships: admin (default), superuser,
	// user or restricteduser. Close gives non-admins the event log's data
	// and previous_data for one hour only.
	MeRole string
	// ExportPolls is how many polls of GET /export/{id}/ an export takes
	// to be done (default 3: started, in_progress, done).
	ExportPolls int
	// ExportFault makes every export fail one way (see ExportFault).
	ExportFault ExportFault
	// PastEdits is how many activities created before the event log's 30
	// days were edited within them, before the first sync: each one to
	// three times, at instants in the 30 days before Now (the last at
	// least an hour before it), each edit an "updated" event whose data is
	// the activity as that edit left it. A first sync then reads an event
	// log naming edits of old activities that its walk reads anyway.
	PastEdits int
	// MaxURLLength is the longest request target (path and query) the
	// fake accepts; a longer one is answered 414 with nginx's page. Close
	// does not publish its limit and its docs say to keep URLs under 2000
	// characters (long filter lists go in a POST with
	// x-http-method-override), so the default is that, 2000; a negative
	// value lifts the cap.
	MaxURLLength int
}

// Kinds of objects the fake holds. Configuration collections (pipeline,
// role, smart_view, bulk_action, ...) are listed in dimensions.go.
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
	KindCustomObject      = "custom_object" // instances of custom object types
	KindEvent             = "event"
)

// Server is the fake API: an http.Handler serving /api/v1/..., and the
// truth behind it for tests. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	requests atomic.Int64
	// refusals counts the max_skip 400s per path (MaxSkipRefusals).
	refusedMu sync.Mutex
	refused   map[string]int
	limiter   *limiter

	mu       sync.Mutex
	rng      *rand.Rand // data and ids, in generation then mutation order
	failRNG  *rand.Rand // FailureRate draws only, so they do not shift ids
	failNext int
	failCode int
	cols     map[string]*collection
	byLead   map[string]map[string][]string // child kind -> lead id -> ids
	events   eventLog
	version  int // bumped by every change; keys the listing cache
	listings listingCache
	// eventListings caches filtered event log walks per data version.
	eventListings        map[string][]*event
	eventListingsVersion int
	searches             searchState
	exports              map[string]*export // by id
	hooks                hookState          // webhook subscriptions (webhooks.go)
	orgID                string
	me                   string         // the API key's user
	pipeline             string         // the default pipeline
	names                map[string]any // userName cache
}

// New builds the fake's organisation. Scale 100 takes a few milliseconds,
// scale 20000 a couple of seconds.
func New(opts Options) *Server {
	if opts.Scale <= 0 {
		opts.Scale = defaultScale
	}
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSearchFields == 0 {
		opts.MaxSearchFields = defaultMaxSearchFields
	}
	s := &Server{
		opts:    opts,
		limiter: newLimiter(opts.RateLimit),
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed)),
		failRNG: rand.New(rand.NewPCG(uint64(opts.Seed), 0xfa11)),
		cols:    map[string]*collection{},
		byLead:  map[string]map[string][]string{},
	}
	s.generate()
	return s
}

var _ http.Handler = (*Server)(nil)

func (s *Server) now() time.Time { return s.opts.Now().UTC() }

// OrganizationID returns the id of the fake's organisation (orga_...).
func (s *Server) OrganizationID() string { return s.orgID }

// Objects returns every object of kind as the API renders it (a lead with
// its contacts, opportunities and tasks embedded), plus the truth-only
// keys (a custom field's object_type, a bulk action's bulk_kind), sorted
// by id. Events are those within the 30-day retention. The maps are deep
// copies, decoded from JSON as a client would (numbers are float64).
func (s *Server) Objects(kind string) []map[string]any {
	s.mu.Lock()
	var objs []any
	if kind == KindEvent {
		for _, e := range s.liveEventsByID() {
			objs = append(objs, s.renderEvent(e))
		}
	} else if c := s.cols[kind]; c != nil {
		for _, id := range c.ids() {
			objs = append(objs, s.render(kind, c.objs[id], false))
		}
	}
	s.mu.Unlock()
	out := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		out = append(out, deepCopy(asMap(o)))
	}
	return out
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// Count returns how many objects of kind exist (events: within the 30-day
// retention).
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == KindEvent {
		return len(s.liveEvents())
	}
	if c := s.cols[kind]; c != nil {
		return len(c.objs)
	}
	return 0
}

// IDs returns the ids of kind, sorted.
func (s *Server) IDs(kind string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == KindEvent {
		var ids []string
		for _, e := range s.liveEventsByID() {
			ids = append(ids, e.id)
		}
		return ids
	}
	if c := s.cols[kind]; c != nil {
		return append([]string(nil), c.ids()...)
	}
	return nil
}

// Object returns one object like Objects does.
func (s *Server) Object(kind, id string) (map[string]any, bool) {
	s.mu.Lock()
	var o map[string]any
	if kind == KindEvent {
		if e := s.events.byID[id]; e != nil && s.live(e) {
			o = s.renderEvent(e)
		}
	} else if stored, ok := s.get(kind, id); ok {
		o = s.render(kind, stored, false)
	}
	s.mu.Unlock()
	if o == nil {
		return nil, false
	}
	return deepCopy(o), true
}

// Requests returns how many requests the handler has served, failures
// and refusals included.
func (s *Server) Requests() int64 { return s.requests.Load() }

// MaxSkipRefusals counts, per path, the requests answered with the
// max_skip 400 so far: what a walk pays to learn a resource's cap.
func (s *Server) MaxSkipRefusals() map[string]int {
	s.refusedMu.Lock()
	defer s.refusedMu.Unlock()
	out := make(map[string]int, len(s.refused))
	for k, v := range s.refused {
		out[k] = v
	}
	return out
}

// FailNext makes the next n requests (any path, after authentication)
// answer status. A 429 comes with the RateLimit and Retry-After headers
// and the JSON body of a real rate limit; a 502, 503 or 504 is nginx's
// HTML error page (Content-Type text/html), as Close's gateway sends it;
// other statuses are {"error": <status text>}.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext, s.failCode = n, status
}

// userName is a user's full name, as *_name fields show it. Names are
// cached (one shared value per user) until a user changes.
func (s *Server) userName(id any) any {
	key, _ := id.(string)
	if v, ok := s.names[key]; ok {
		return v
	}
	u, ok := s.get(KindUser, key)
	if !ok {
		return nil
	}
	var name any = strings.TrimSpace(fmt.Sprint(u["first_name"], " ", u["last_name"]))
	if s.names == nil {
		s.names = map[string]any{}
	}
	s.names[key] = name
	return name
}
