package closefake

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// route is what one path (below /api/v1, slash-terminated) serves. A
// route with a spec also serves <path>{id}/.
type route struct {
	spec *listSpec
	get  func(s *Server, w http.ResponseWriter, r *request)            // custom GET of the path
	one  func(s *Server, w http.ResponseWriter, r *request, id string) // custom GET of <path>{id}/
	post func(s *Server, w http.ResponseWriter, r *request)            // POST of the path
	del  func(s *Server, w http.ResponseWriter, r *request, id string) // DELETE of <path>{id}/
}

// routes maps every served path to its route. Adding a list endpoint is
// one entry (or one row of the dimensions table).
var routes = buildRoutes()

func buildRoutes() map[string]*route {
	rt := map[string]*route{}
	list := func(path string, spec *listSpec) { rt[path] = &route{spec: spec} }

	rt["/me/"] = &route{get: (*Server).serveMe}
	rt["/organization/"] = &route{one: (*Server).serveOrganization}
	rt["/lead/"] = &route{spec: &listSpec{kind: KindLead}, get: (*Server).serveLeads}
	rt["/event/"] = &route{get: (*Server).serveEvents, one: (*Server).serveEvent}
	rt["/data/search/"] = &route{post: (*Server).serveSearch}
	rt["/report/activity/"] = &route{post: (*Server).serveActivityReport}
	rt["/report/activity/metrics/"] = &route{get: (*Server).serveActivityMetrics}
	rt["/report/sent_emails/"] = &route{one: (*Server).serveSentEmails}
	rt["/export/lead/"] = &route{post: (*Server).serveLeadExport}
	rt["/export/opportunity/"] = &route{post: (*Server).serveOpportunityExport}
	rt["/custom_object/"] = &route{spec: customObjectSpec, get: (*Server).serveCustomObjects}

	list("/contact/", &listSpec{kind: KindContact, maxLimit: 100, filters: []string{"lead_id"}})
	list("/opportunity/", &listSpec{kind: KindOpportunity, maxLimit: 250, total: true, extra: opportunityAggregates,
		dateFilters: []string{"date_created", "date_updated", "date_won"},
		filters:     []string{"lead_id", "user_id", "status_id", "status_type", "status_label", "value_period", "contact_id"},
		orderBy: []string{"date_won", "date_updated", "date_created", "confidence", "user_name", "value", "annualized_value",
			"annualized_expected_value"}})
	list("/task/", &listSpec{kind: KindTask, maxLimit: 1000,
		dateFilters: []string{"date_created", "date_updated", "date", "due_date"},
		filters:     []string{"lead_id", "assigned_to", "is_complete", "id", "contact_id", "view"},
		orderBy:     []string{"date", "date_created"}, params: []string{"_type", "_type__in"}, match: taskTypeFilter})
	list("/user/", &listSpec{kind: KindUser, maxLimit: 1000, orderBy: []string{"first_name", "last_name"}})
	list("/status/lead/", &listSpec{kind: KindLeadStatus})
	list("/status/opportunity/", &listSpec{kind: KindOpportunityStatus, filters: []string{"pipeline_id"}})
	for _, objType := range []string{"lead", "contact", "opportunity", "activity", "custom_object_type", "shared"} {
		spec := &listSpec{kind: KindCustomField, resource: "/custom_field/", maxLimit: 1000, model: customFieldModels[objType],
			scope: func(o object) bool { return o["object_type"] == objType }}
		list("/custom_field/"+objType+"/", spec)
		list("/custom_fields/"+objType+"/", spec) // the legacy plural path still works
	}

	// Activities: every type at /activity/, each at /activity/<type>/.
	// Only date_created and activity_at can be filtered on: there is no
	// date_updated filter (parameters Close does not know are ignored).
	activity := func(typ string) *listSpec {
		spec := &listSpec{kind: KindActivity, resource: "/activity/", maxLimit: 100,
			dateFilters: []string{"date_created", "activity_at"},
			filters:     []string{"lead_id", "contact_id", "user_id", "id", "organization_id"},
			orderBy:     []string{"date_created", "activity_at"}, params: []string{"_type", "_type__in"}, match: activityTypeFilter}
		if typ != "" {
			spec.scope, spec.model = func(o object) bool { return o["_type"] == typ }, typ
		}
		return spec
	}
	list("/activity/", activity(""))
	for _, t := range activityTypes {
		spec := activity(t.typ)
		switch t.typ {
		case "OpportunityStatusChange":
			spec.filters = append(spec.filters, "opportunity_id")
		case "WhatsAppMessage":
			spec.filters = append(spec.filters, "external_whatsapp_message_id")
		case "Custom":
			spec.filters = append(spec.filters, "custom_activity_type_id")
		case "FormSubmission":
			spec.filters = append(spec.filters, "form_id")
		}
		list("/activity/"+t.path+"/", spec)
	}

	for _, d := range dimensions {
		spec := &listSpec{kind: d.kind, maxLimit: d.maxLimit}
		if d.filter != nil {
			f := d.filter
			spec.match = func(o object, q url.Values) bool { return f(o, q) }
		}
		list(d.path, spec)
	}
	// GET /export/ lists exports (a dimensions row); an export started
	// here is polled at /export/{id}/ (export.go).
	rt["/export/"].one = (*Server).serveExport
	// Subscriptions are made and removed through /webhook/ (webhooks.go).
	rt["/webhook/"].post = (*Server).serveWebhookCreate
	rt["/webhook/"].del = (*Server).serveWebhookDelete
	for _, b := range bulkKinds {
		list("/bulk_action/"+b.path+"/", &listSpec{kind: "bulk_action", resource: "/bulk_action/", maxLimit: 100, model: "Bulk" + camel(b.path),
			scope: func(o object) bool { return o["bulk_kind"] == b.path }})
	}
	return rt
}

// route dispatches an authenticated, admitted request.
func (s *Server) route(w http.ResponseWriter, r *request) {
	if rt := routes[r.path]; rt != nil {
		switch {
		case r.method == http.MethodGet && rt.get != nil:
			rt.get(s, w, r)
		case r.method == http.MethodGet && rt.spec != nil:
			s.list(w, r, rt.spec)
		case r.method == http.MethodPost && rt.post != nil:
			rt.post(s, w, r)
		case rt.get == nil && rt.spec == nil && rt.post == nil:
			writeErr(w, errorf(http.StatusNotFound, msgNotFound))
		default:
			writeErr(w, errorf(http.StatusMethodNotAllowed, msgNotAllowed))
		}
		return
	}
	parent, id := splitID(r.path)
	if rt := routes[parent]; rt != nil && (rt.one != nil || rt.spec != nil) {
		if r.method == http.MethodDelete && rt.del != nil {
			rt.del(s, w, r, id)
			return
		}
		if r.method != http.MethodGet {
			writeErr(w, errorf(http.StatusMethodNotAllowed, msgNotAllowed))
			return
		}
		if rt.one != nil {
			rt.one(s, w, r, id)
		} else {
			s.one(w, r, rt.spec, id)
		}
		return
	}
	writeErr(w, errorf(http.StatusNotFound, msgNotFound))
}

// known reports whether path (slash-terminated) is served, for the
// trailing-slash redirect.
func (s *Server) known(path string) bool {
	if routes[path] != nil {
		return true
	}
	parent, _ := splitID(path)
	rt := routes[parent]
	return rt != nil && (rt.one != nil || rt.spec != nil)
}

// splitID splits "/lead/lead_x/" into "/lead/" and "lead_x".
func splitID(path string) (string, string) {
	trimmed := strings.TrimSuffix(path, "/")
	i := strings.LastIndex(trimmed, "/")
	if i < 0 {
		return "", ""
	}
	return trimmed[:i+1], trimmed[i+1:]
}

// taskTypeFilter: /task/ returns only lead tasks unless _type says
// otherwise; _type=all returns every type.
func taskTypeFilter(o object, q url.Values) bool {
	types := []string{"lead"}
	if v := q.Get("_type"); v != "" {
		types = strings.Split(v, ",")
	}
	if v := q.Get("_type__in"); v != "" {
		types = strings.Split(v, ",")
	}
	return contains(types, "all") || contains(types, fmt.Sprint(o["_type"]))
}

func activityTypeFilter(o object, q url.Values) bool {
	if v := q.Get("_type"); v != "" && fmt.Sprint(o["_type"]) != v {
		return false
	}
	if v := q.Get("_type__in"); v != "" && !contains(strings.Split(v, ","), fmt.Sprint(o["_type"])) {
		return false
	}
	return true
}

// opportunityAggregates are the top-level keys /opportunity/ adds over
// every match (not just the page), in cents.
func opportunityAggregates(matched []object) map[string]any {
	count := map[string]any{"one_time": 0, "monthly": 0, "annual": 0}
	total := map[string]int{}
	expected := map[string]int{}
	for _, o := range matched {
		p := fmt.Sprint(o["value_period"])
		if n, ok := count[p].(int); ok {
			count[p] = n + 1
		}
		total[p] += toInt(o["value"])
		expected[p] += toInt(o["expected_value"])
		total["annualized"] += toInt(o["annualized_value"])
		expected["annualized"] += toInt(o["annualized_expected_value"])
	}
	out := map[string]any{"count_by_value_period": count}
	for _, p := range []string{"one_time", "monthly", "annual", "annualized"} {
		out["total_value_"+p] = total[p]
		out["expected_value_"+p] = expected[p]
		out["total_value_"+p+"_formatted"] = formatCents(total[p])
		out["expected_value_"+p+"_formatted"] = formatCents(expected[p])
	}
	return out
}
