package closefake

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const apiPrefix = "/api/v1"

// unauthorizedBody is Close's real 401 text (Werkzeug's default).
const unauthorizedBody = "The server could not verify that you are authorized to access the URL requested.  You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required."

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": msg})
}

// ServeHTTP serves the API under /api/v1.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.opts.Latency > 0 {
		select {
		case <-time.After(s.opts.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if !strings.HasPrefix(r.URL.Path, apiPrefix+"/") {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	if !strings.HasSuffix(path, "/") {
		// Close redirects to the slashed path.
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.String(), http.StatusMovedPermanently)
		return
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, unauthorizedBody)
		return
	}
	if status, ok := s.opts.Deny[path]; ok {
		msg := map[int]string{
			http.StatusForbidden:       "You don't have permission to access this resource.",
			http.StatusPaymentRequired: "Your plan does not include this feature.",
			http.StatusBadRequest:      "You don't have access to the event log.",
		}[status]
		writeError(w, status, msg)
		return
	}
	group := r.Method + " " + strings.SplitN(strings.Trim(path, "/"), "/", 2)[0]
	if !s.admit(w, group) {
		return
	}
	if status := s.injectedFailure(); status != 0 {
		if status == http.StatusTooManyRequests {
			s.tooMany(w, group, 1)
			return
		}
		writeError(w, status, http.StatusText(status))
		return
	}
	s.route(w, r, path)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(h, "Basic "):
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		if err != nil {
			return false
		}
		user, pass, _ := strings.Cut(string(b), ":")
		return user == s.opts.APIKey && pass == ""
	case strings.HasPrefix(h, "Bearer "):
		return strings.TrimPrefix(h, "Bearer ") == s.opts.APIKey
	}
	return false
}

func (s *Server) injectedFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return s.failCode
	}
	if s.opts.FailureRate > 0 && s.rng.Float64() < s.opts.FailureRate {
		return []int{http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}[s.rng.IntN(3)]
	}
	return 0
}

// bucket is a one-second window of one endpoint group's budget.
type bucket struct {
	window time.Time
	used   int
}

// admit applies the per-group rate limit, sets the RateLimit header, and
// answers 429 when the window's budget is spent.
func (s *Server) admit(w http.ResponseWriter, group string) bool {
	limit := s.opts.RateLimit
	if limit <= 0 {
		w.Header().Set("RateLimit", "limit=10000, remaining=9999, reset=1")
		return true
	}
	s.mu.Lock()
	now := time.Now()
	b := s.buckets[group]
	if b == nil || now.Sub(b.window) >= time.Second {
		b = &bucket{window: now.Truncate(time.Second)}
		s.buckets[group] = b
	}
	reset := b.window.Add(time.Second).Sub(now)
	b.used++
	used := b.used
	s.mu.Unlock()
	if used > limit {
		s.tooMany(w, group, reset.Seconds())
		return false
	}
	w.Header().Set("RateLimit", fmt.Sprintf("limit=%d, remaining=%d, reset=%d", limit, limit-used, int(math.Ceil(reset.Seconds()))))
	return true
}

func (s *Server) tooMany(w http.ResponseWriter, group string, reset float64) {
	limit := max(s.opts.RateLimit, 1)
	sum := md5.Sum([]byte(group))
	w.Header().Set("RateLimit", fmt.Sprintf("limit=%d, remaining=0, reset=%d", limit, int(math.Ceil(reset))))
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(reset))))
	writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{
		"message": "API call count exceeded for this period", "rate_reset": math.Round(reset*1e6) / 1e6, "rate_limit": limit,
		"rate_window": 1, "rate_limit_type": "key", "rate_endpoint_group": hex.EncodeToString(sum[:])}})
}

// listSpec is how one list endpoint behaves.
type listSpec struct {
	kind     string
	maxLimit int
	// dateFilters are the fields accepted with __gte/__gt/__lte/__lt.
	dateFilters []string
	orderBy     []string // accepted _order_by fields
	filter      func(o map[string]any, q map[string][]string) bool
	total       bool // adds total_results
	single      bool // everything in one response, no paging params
}

var activityPaths = map[string]string{
	"call": "Call", "email": "Email", "emailthread": "EmailThread", "note": "Note", "meeting": "Meeting", "sms": "SMS",
	"created": "Created", "status_change/lead": "LeadStatusChange", "status_change/opportunity": "OpportunityStatusChange",
	"task_completed": "TaskCompleted", "whatsapp_message": "WhatsAppMessage", "form_submission": "FormSubmission", "custom": "Custom",
}

var byIDRE = regexp.MustCompile(`^/(lead|contact|opportunity|task|event|activity(?:/[a-z_/]+)?)/([a-z]+_[A-Za-z0-9]+)/$`)

func (s *Server) route(w http.ResponseWriter, r *http.Request, path string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	eq := func(field string) func(o map[string]any, q map[string][]string) bool {
		return func(o map[string]any, q map[string][]string) bool {
			v, ok := q[field]
			return !ok || fmt.Sprint(o[field]) == v[0]
		}
	}
	switch {
	case path == "/me/":
		s.me(w)
	case strings.HasPrefix(path, "/organization/") && strings.Count(path, "/") == 3:
		s.organization(w, strings.Trim(strings.TrimPrefix(path, "/organization/"), "/"))
	case path == "/lead/":
		s.leads(w, r)
	case path == "/contact/":
		s.list(w, r, "/contact/", listSpec{kind: KindContact, maxLimit: 100, filter: eq("lead_id")})
	case path == "/opportunity/":
		s.list(w, r, path, listSpec{kind: KindOpportunity, maxLimit: 250, total: true,
			dateFilters: []string{"date_created", "date_updated", "date_won"},
			orderBy:     []string{"date_won", "date_updated", "date_created", "confidence", "user_name", "value"},
			filter: func(o map[string]any, q map[string][]string) bool {
				return eq("lead_id")(o, q) && eq("status_type")(o, q) && eq("user_id")(o, q)
			}})
	case path == "/task/":
		s.list(w, r, path, listSpec{kind: KindTask, maxLimit: 1000, dateFilters: []string{"date_created", "date_updated", "date"},
			orderBy: []string{"date", "date_created"}, filter: taskFilter})
	case path == "/user/":
		s.list(w, r, path, listSpec{kind: KindUser, maxLimit: 1000})
	case path == "/status/lead/":
		s.list(w, r, path, listSpec{kind: KindLeadStatus, single: true})
	case path == "/status/opportunity/":
		s.list(w, r, path, listSpec{kind: KindOpportunityStatus, single: true})
	case strings.HasPrefix(path, "/custom_field/") || strings.HasPrefix(path, "/custom_fields/"):
		objType := strings.Trim(strings.TrimPrefix(strings.TrimPrefix(path, "/custom_fields/"), "/custom_field/"), "/")
		switch objType {
		case "lead", "contact", "opportunity", "activity", "shared":
		default:
			writeError(w, http.StatusNotFound, "not found")
			return
		}
		s.list(w, r, "/custom_field/", listSpec{kind: KindCustomField, maxLimit: 1000,
			filter: func(o map[string]any, _ map[string][]string) bool { return o["object_type"] == objType }})
	case path == "/activity/":
		s.list(w, r, path, listSpec{kind: KindActivity, maxLimit: 100, dateFilters: []string{"date_created", "activity_at"},
			orderBy: []string{"date_created", "activity_at"}, filter: activityFilter("")})
	case strings.HasPrefix(path, "/activity/") && activityPaths[strings.Trim(strings.TrimPrefix(path, "/activity/"), "/")] != "":
		typ := activityPaths[strings.Trim(strings.TrimPrefix(path, "/activity/"), "/")]
		s.list(w, r, "/activity/", listSpec{kind: KindActivity, maxLimit: 100, dateFilters: []string{"date_created", "activity_at"},
			orderBy: []string{"date_created", "activity_at"}, filter: activityFilter(typ)})
	case path == "/event/":
		s.events(w, r)
	case len(path) > len("/bulk_action/") && path[:len("/bulk_action/")] == "/bulk_action/":
		kind := path[len("/bulk_action/") : len(path)-1]
		if !isBulkKind(kind) {
			writeError(w, http.StatusNotFound, "The requested URL was not found on the server.")
			return
		}
		s.list(w, r, "/bulk_action/", listSpec{kind: "bulk_action", maxLimit: 100,
			filter: func(o map[string]any, _ map[string][]string) bool { return o["bulk_kind"] == kind }})
	default:
		if d, ok := dimensionAt(path); ok {
			s.list(w, r, d.path, listSpec{kind: d.kind, maxLimit: d.maxLimit, single: d.maxLimit == 0,
				filter: func(o map[string]any, q map[string][]string) bool { return d.filter == nil || d.filter(o, q) }})
			return
		}
		if m := byIDRE.FindStringSubmatch(path); m != nil {
			s.byID(w, m[1], m[2])
			return
		}
		writeError(w, http.StatusNotFound, "The requested URL was not found on the server.")
	}
}

func dimensionAt(path string) (dimension, bool) {
	for _, d := range dimensions {
		if d.path == path {
			return d, true
		}
	}
	return dimension{}, false
}

func isBulkKind(k string) bool {
	for _, b := range bulkKinds {
		if b.path == k {
			return true
		}
	}
	return false
}

func taskFilter(o map[string]any, q map[string][]string) bool {
	types := []string{"lead"} // Close returns only lead tasks unless asked
	if v, ok := q["_type"]; ok {
		types = strings.Split(v[0], ",")
	}
	if v, ok := q["_type__in"]; ok {
		types = strings.Split(v[0], ",")
	}
	if !(len(types) == 1 && types[0] == "all") && !contains(types, fmt.Sprint(o["_type"])) {
		return false
	}
	for _, f := range []string{"lead_id", "is_complete", "assigned_to"} {
		if v, ok := q[f]; ok && fmt.Sprint(o[f]) != v[0] {
			return false
		}
	}
	return true
}

func activityFilter(typ string) func(o map[string]any, q map[string][]string) bool {
	return func(o map[string]any, q map[string][]string) bool {
		if typ != "" && o["_type"] != typ {
			return false
		}
		if v, ok := q["_type"]; ok && fmt.Sprint(o["_type"]) != v[0] {
			return false
		}
		if v, ok := q["_type__in"]; ok && !contains(strings.Split(v[0], ","), fmt.Sprint(o["_type"])) {
			return false
		}
		for _, f := range []string{"lead_id", "contact_id", "user_id"} {
			if v, ok := q[f]; ok && fmt.Sprint(o[f]) != v[0] {
				return false
			}
		}
		return true
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Server) me(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := s.anyUser().(string)
	me := deepCopy(s.objs[KindUser][uid])
	memb := "memb_" + uid[5:]
	me["organizations"] = []any{map[string]any{"id": s.orgID, "name": orgName, "memberships": []any{map[string]any{"id": memb, "user_id": uid}}}}
	me["memberships"] = []any{map[string]any{"id": memb, "organization_id": s.orgID, "role_id": "admin", "role": "admin"}}
	me["email_signatures"] = []any{map[string]any{"id": "emailsig_" + uid[5:], "membership_id": memb, "value": "<p>Best,</p>"}}
	me["phone_numbers"] = []any{map[string]any{"id": "phon_" + uid[5:], "number": "+14155550100", "number_formatted": "+1 415-555-0100", "label": "Direct"}}
	writeJSON(w, http.StatusOK, me)
}

const orgName = "Demo Org"

// organization serves /organization/{id}/: the org with its memberships,
// inactive memberships and statuses embedded (user fields prefixed user_).
// It carries no invoices: the public API has none to show.
func (s *Server) organization(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id != s.orgID {
		writeError(w, http.StatusNotFound, "Empty query: Organization matching query does not exist.")
		return
	}
	var members, inactive []any
	for i, uid := range s.sortedIDs(KindUser) {
		u := s.objs[KindUser][uid]
		m := map[string]any{"id": "memb_" + uid[5:], "user_id": uid, "user_email": u["email"], "user_first_name": u["first_name"],
			"user_last_name": u["last_name"], "user_full_name": fmt.Sprint(u["first_name"], " ", u["last_name"]), "role_id": "user", "role": "user",
			"permissions_granted": []any{}, "date_created": u["date_created"]}
		if i%4 == 1 {
			inactive = append(inactive, m)
		} else {
			members = append(members, m)
		}
	}
	var leadStatuses, oppStatuses []any
	for _, id := range s.sortedIDs(KindLeadStatus) {
		st := s.objs[KindLeadStatus][id]
		leadStatuses = append(leadStatuses, map[string]any{"id": st["id"], "label": st["label"]})
	}
	for _, id := range s.sortedIDs(KindOpportunityStatus) {
		st := s.objs[KindOpportunityStatus][id]
		oppStatuses = append(oppStatuses, map[string]any{"id": st["id"], "label": st["label"], "type": st["type"], "pipeline_id": st["pipeline_id"]})
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": s.orgID, "name": orgName, "status": "active", "currency": "USD", "currency_symbol": "$",
		"memberships": members, "inactive_memberships": inactive, "lead_statuses": leadStatuses, "opportunity_statuses": oppStatuses,
		"lead_custom_fields": []any{}, "billing_account_id": "acct_1", "leads_email": "leads@example.com",
		"date_created": fmtTime(s.now().Add(-3 * 365 * 24 * time.Hour)), "date_updated": fmtTime(s.now().Add(-24 * time.Hour)),
		"created_by": s.anyUser(), "updated_by": s.anyUser()})
}

func (s *Server) byID(w http.ResponseWriter, kindPath, id string) {
	kind := strings.SplitN(kindPath, "/", 2)[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[kind][id]
	if !ok {
		model := strings.ToUpper(kind[:1]) + kind[1:]
		writeError(w, http.StatusNotFound, "Empty query: "+model+" matching query does not exist.")
		return
	}
	writeJSON(w, http.StatusOK, s.render(kind, o))
}

// paging reads _skip and _limit, enforcing the endpoint's maximum limit and
// the resource's max_skip.
func (s *Server) paging(w http.ResponseWriter, r *http.Request, resource string, maxLimit int) (skip, limit int, ok bool) {
	q := r.URL.Query()
	limit = 100
	if v := q.Get("_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "_limit must be a non-negative integer")
			return 0, 0, false
		}
		limit = n
	}
	if maxLimit > 0 && limit > maxLimit {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The _limit you set is larger than the maximum limit for this resource (max_limit = %d).", maxLimit))
		return 0, 0, false
	}
	if v := q.Get("_skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "_skip must be a non-negative integer")
			return 0, 0, false
		}
		skip = n
	}
	maxSkip := 250000
	if v, ok := s.opts.MaxSkip["*"]; ok {
		maxSkip = v
	}
	if v, ok := s.opts.MaxSkip[resource]; ok {
		maxSkip = v
	}
	if skip > maxSkip {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("The skip you set is larger than the maximum skip for this resource (max_skip = %d). Please refine your search query.", maxSkip))
		return 0, 0, false
	}
	return skip, limit, true
}

var dateOps = map[string]func(a, b string) bool{
	"__gte": func(a, b string) bool { return a >= b }, "__gt": func(a, b string) bool { return a > b },
	"__lte": func(a, b string) bool { return a <= b }, "__lt": func(a, b string) bool { return a < b },
}

// normTime turns a filter value or a stored date into a comparable UTC
// string; dates without a time are midnight.
func normTime(v string) string {
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC().Format("2006-01-02T15:04:05.000000")
		}
	}
	return v
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, resource string, spec listSpec) {
	q := r.URL.Query()
	skip, limit := 0, 0
	if !spec.single {
		var ok bool
		if skip, limit, ok = s.paging(w, r, resource, spec.maxLimit); !ok {
			return
		}
	}
	type cond struct {
		field string
		op    func(a, b string) bool
		value string
	}
	var conds []cond
	for key, vals := range q {
		for suffix, op := range dateOps {
			if f, found := strings.CutSuffix(key, suffix); found {
				if !contains(spec.dateFilters, f) {
					writeError(w, http.StatusBadRequest, fmt.Sprintf("Unknown filter: %s", key))
					return
				}
				conds = append(conds, cond{f, op, normTime(vals[0])})
			}
		}
	}
	order := ""
	if v := q.Get("_order_by"); v != "" {
		if !contains(spec.orderBy, strings.TrimPrefix(v, "-")) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid _order_by: %s", v))
			return
		}
		order = v
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	matched := s.cachedListing(listingKey(r), func() []map[string]any {
		var matched []map[string]any
		for _, o := range s.objs[spec.kind] {
			if spec.filter != nil && !spec.filter(o, q) {
				continue
			}
			keep := true
			for _, c := range conds {
				v, _ := o[c.field].(string)
				if v == "" || !c.op(normTime(v), c.value) {
					keep = false
					break
				}
			}
			if keep {
				matched = append(matched, o)
			}
		}
		sortObjects(matched, order)
		return matched
	})
	s.page(w, r, spec.kind, matched, skip, limit, spec.single, spec.total)
}

// sortObjects orders by field (prefix - for descending), ties by id; without
// a field, by id.
func sortObjects(objs []map[string]any, order string) {
	field, desc := strings.TrimPrefix(order, "-"), strings.HasPrefix(order, "-")
	sort.Slice(objs, func(i, j int) bool {
		if field != "" {
			a, b := sortKey(objs[i][field]), sortKey(objs[j][field])
			if a != b {
				return (a < b) != desc
			}
		}
		return objs[i]["id"].(string) < objs[j]["id"].(string)
	})
}

// page writes one page of objs with the envelope Close uses.
func (s *Server) page(w http.ResponseWriter, r *http.Request, kind string, objs []map[string]any, skip, limit int, single, total bool) {
	end := len(objs)
	if !single {
		if skip > len(objs) {
			skip = len(objs)
		}
		end = min(skip+limit, len(objs))
	} else {
		skip = 0
	}
	var idx childIndex
	if kind == KindLead {
		idx = s.children()
	}
	fields := r.URL.Query().Get("_fields")
	data := make([]any, 0, end-skip)
	for _, o := range objs[skip:end] {
		ro := s.renderWith(kind, o, idx)
		switch kind {
		case KindCustomField:
			ro = withoutKeys(ro, "object_type")
		case "bulk_action":
			ro = withoutKeys(ro, "bulk_kind")
		}
		if fields != "" {
			sel := map[string]any{}
			for _, f := range strings.Split(fields, ",") {
				if v, ok := ro[f]; ok {
					sel[f] = v
				}
			}
			ro = sel
		}
		data = append(data, ro)
	}
	body := map[string]any{"data": data, "has_more": end < len(objs)}
	if total {
		body["total_results"] = len(objs)
	}
	writeJSON(w, http.StatusOK, body)
}

// sortKey orders values of one field; dates are canonical strings.
func sortKey(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return fmt.Sprintf("%020.6f", x)
	case int:
		return fmt.Sprintf("%020d", x)
	}
	return fmt.Sprint(v)
}

func withoutKeys(o map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(o))
	for k, v := range o {
		if !contains(keys, k) {
			out[k] = v
		}
	}
	return out
}
