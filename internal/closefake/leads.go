package closefake

import (
	"net/http"
	"regexp"
	"strings"
)

// The subset of Close's legacy lead search syntax (the deprecated query
// parameter of GET /lead/) that connectors send: date comparisons at
// minute precision and a sort clause, e.g.
// `date_updated >= "2024-01-01T10:00" sort:created`.
var (
	leadCondRE = regexp.MustCompile(`(?i)\b(date_updated|date_created|updated|created)\s*(>=|<=|>|<|=|:)\s*("[^"]*"|[0-9][0-9T:\-.+Z ]*[0-9Z])`)
	leadSortRE = regexp.MustCompile(`(?i)\bsort\s*:\s*(-?)(date_updated|date_created|updated|created|display_name|name)\b`)
)

var leadFieldAlias = map[string]string{"updated": "date_updated", "created": "date_created", "date_updated": "date_updated",
	"date_created": "date_created", "display_name": "display_name", "name": "display_name"}

var leadOps = map[string]string{">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}

// serveLeads serves GET /lead/: offset pages of at most 200 leads, no
// date filter parameters (only the legacy query), total_results when a
// query is given. Without a sort clause leads come most recently updated
// first, an order that shifts under a client paging while leads change:
// Close's staff called that out (closeio-api #96).
func (s *Server) serveLeads(w http.ResponseWriter, r *request) {
	const maxLimit = 200
	skip, limit, e := s.paging(r.q, r.path, "/lead/", maxLimit)
	if e != nil {
		writeErr(w, e)
		return
	}
	query := r.q.Get("query")
	if e := countProbe(r.q, r.path, query != ""); e != nil {
		writeErr(w, e)
		return
	}
	var conds []dateCond
	rest := query
	for _, m := range leadCondRE.FindAllStringSubmatch(query, -1) {
		field, op := leadFieldAlias[strings.ToLower(m[1])], m[2]
		t, ok := parseTime(strings.TrimSpace(strings.Trim(m[3], `"`)))
		if !ok {
			writeErr(w, errorf(http.StatusBadRequest, "Invalid query: cannot parse the date in %q", m[0]))
			return
		}
		// The legacy query compares at minute precision: a value within
		// the minute of the bound counts as equal to it.
		bound := timeKey(fmtTime(t))[:16]
		var cond dateCond
		if op == "=" || op == ":" {
			cond = dateCond{field, func(a, b string) bool { return a[:16] == b }, bound}
		} else {
			f := dateOps[leadOps[op]]
			cond = dateCond{field, func(a, b string) bool { return f(a[:16], b) }, bound}
		}
		conds = append(conds, cond)
		rest = strings.Replace(rest, m[0], " ", 1)
	}
	order := "-date_updated"
	if m := leadSortRE.FindStringSubmatch(query); m != nil {
		order = m[1] + leadFieldAlias[strings.ToLower(m[2])]
		rest = strings.Replace(rest, m[0], " ", 1)
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		// Close would run a full-text search; the fake cannot, and says so
		// instead of silently returning everything.
		writeErr(w, errorf(http.StatusBadRequest, "Invalid query: %q is not supported by this fake (date comparisons and sort: only)", rest))
		return
	}
	if s.opts.StrictFilters {
		for key := range r.q {
			if !contains(pagingParams, key) && key != "query" {
				writeErr(w, errorf(http.StatusBadRequest, "Unknown filter: %s", key))
				return
			}
		}
	}
	s.mu.Lock()
	matched := s.filtered(listingKey(r.path, r.q), KindLead, func(o object) bool {
		for _, c := range conds {
			if !c.ok(o) {
				return false
			}
		}
		return true
	}, order)
	body := s.page(KindLead, matched, skip, limit, false, splitFields(r.q.Get("_fields")))
	if query != "" {
		body["total_results"] = len(matched)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
