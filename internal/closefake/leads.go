package closefake

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// leadQueryRE matches the subset of Close's legacy lead search syntax that
// connectors use: date comparisons and a sort clause, e.g.
// `date_updated >= "2024-01-01T10:00" sort:created`.
var (
	leadCondRE = regexp.MustCompile(`(date_updated|date_created|updated|created)\s*(>=|<=|>|<)\s*"?([0-9T:\-. +]+?)"?(?:\s|$)`)
	leadSortRE = regexp.MustCompile(`sort:\s*(-?)(date_updated|date_created|updated|created)`)
)

var leadFieldAlias = map[string]string{"updated": "date_updated", "created": "date_created", "date_updated": "date_updated", "date_created": "date_created"}

func (s *Server) leads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for key := range q {
		if strings.Contains(key, "__") {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Unknown filter: %s", key))
			return
		}
	}
	skip, limit, ok := s.paging(w, r, "/lead/", 200)
	if !ok {
		return
	}
	query := q.Get("query")
	type cond struct {
		field, op, value string
	}
	var conds []cond
	rest := query
	for _, m := range leadCondRE.FindAllStringSubmatch(query, -1) {
		conds = append(conds, cond{leadFieldAlias[m[1]], m[2], normTime(strings.TrimSpace(m[3]))})
		rest = strings.Replace(rest, m[0], " ", 1)
	}
	// Without a sort clause Close returns recently updated leads first: an
	// order that shifts while leads change (closeio-api #96).
	order := "-date_updated"
	if m := leadSortRE.FindStringSubmatch(query); m != nil {
		order = m[1] + leadFieldAlias[m[2]]
		rest = strings.Replace(rest, m[0], " ", 1)
	}
	if strings.TrimSpace(rest) != "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("Invalid query: %q is not supported by this fake", strings.TrimSpace(rest)))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	matched := s.cachedListing(listingKey(r), func() []map[string]any {
		var matched []map[string]any
		for _, o := range s.objs[KindLead] {
			keep := true
			for _, c := range conds {
				// Stored dates are canonical UTC; the legacy query compares
				// at minute precision.
				v, _ := o[c.field].(string)
				if len(v) < 16 {
					keep = false
					break
				}
				v, cv := v[:16], c.value[:16]
				if !dateOps["__"+map[string]string{">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}[c.op]](v, cv) {
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
	s.page(w, r, KindLead, matched, skip, limit, false, query != "")
}
