package closefake

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// events serves GET /event/: newest first, cursor-only (_skip is refused),
// _limit at most 50, 30 days of history. The cursor is a keyset on
// (date_updated, id), so events arriving at the top do not shift pages.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("_skip") {
		writeError(w, http.StatusBadRequest, "_skip is not supported on the event log; use _cursor")
		return
	}
	limit := 50
	if v := q.Get("_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "_limit must be a positive integer")
			return
		}
		limit = min(n, 50)
	}
	var after [2]string
	if c := q.Get("_cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		parts := strings.SplitN(string(b), "|", 2)
		if err != nil || len(parts) != 2 {
			writeError(w, http.StatusBadRequest, "Invalid cursor")
			return
		}
		after = [2]string{parts[0], parts[1]}
	}
	type cond struct {
		op    func(a, b string) bool
		value string
	}
	var conds []cond
	for key, vals := range q {
		if op, ok := strings.CutPrefix(key, "date_updated"); ok && op != "" {
			f, known := dateOps[op]
			if !known {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("Unknown filter: %s", key))
				return
			}
			conds = append(conds, cond{f, normTime(vals[0])})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []map[string]any
	for _, e := range s.liveEvents() {
		keep := true
		for _, f := range []string{"object_type", "object_id", "lead_id", "action", "user_id"} {
			if v, ok := q[f]; ok && fmt.Sprint(e[f]) != v[0] {
				keep = false
			}
		}
		for _, c := range conds {
			if !c.op(normTime(e["date_updated"].(string)), c.value) {
				keep = false
			}
		}
		if keep {
			matched = append(matched, e)
		}
	}
	sort.Slice(matched, func(i, j int) bool {
		a, b := matched[i]["date_updated"].(string), matched[j]["date_updated"].(string)
		if a != b {
			return a > b
		}
		return matched[i]["id"].(string) > matched[j]["id"].(string)
	})
	start := 0
	if after[0] != "" {
		start = sort.Search(len(matched), func(i int) bool {
			du, id := matched[i]["date_updated"].(string), matched[i]["id"].(string)
			return du < after[0] || (du == after[0] && id < after[1])
		})
	}
	end := min(start+limit, len(matched))
	data := make([]any, 0, end-start)
	for _, e := range matched[start:end] {
		data = append(data, e)
	}
	var next any
	if end < len(matched) {
		last := matched[end-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(last["date_updated"].(string) + "|" + last["id"].(string)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "cursor_next": next, "cursor_previous": nil})
}
