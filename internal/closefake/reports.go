package closefake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// The reporting endpoints aggregate the stored activities on request.
// Close documents their parameters but not their response bodies, so the
// shapes here are this fake's model (close-api.md §7 lists what is known):
//
//	GET  /report/activity/metrics/       {"data": [{"key", "label", "type"}]}
//	POST /report/activity/               {"data": [{"user_id", "user_name", "metrics": {key: number}}]}
//	                                     (comparison; overview: one entry without user fields)
//	GET  /report/sent_emails/{org_id}/   {"data": [{"template_id", "template_name", "sent", "opened", "replied"}]}

// activityMetric is one metric of the activity report: which activities it
// counts and what it sums (nil: it counts them).
type activityMetric struct {
	key, label string
	match      func(o object) bool
	sum        func(o object) float64
}

func activityOfType(typ string) func(object) bool {
	return func(o object) bool { return o["_type"] == typ }
}

func callIn(dir string) func(object) bool {
	return func(o object) bool { return o["_type"] == "Call" && o["direction"] == dir }
}

func emailIn(dir string) func(object) bool {
	return func(o object) bool { return o["_type"] == "Email" && o["direction"] == dir }
}

var activityMetrics = []activityMetric{
	{key: "calls.all.count", label: "Calls", match: activityOfType("Call")},
	{key: "calls.outbound.count", label: "Outbound calls", match: callIn("outbound")},
	{key: "calls.inbound.count", label: "Inbound calls", match: callIn("inbound")},
	{key: "calls.all.duration", label: "Call duration (s)", match: activityOfType("Call"),
		sum: func(o object) float64 { return float64(toInt(o["duration"])) }},
	{key: "emails.sent.count", label: "Emails sent", match: emailIn("outgoing")},
	{key: "emails.received.count", label: "Emails received", match: emailIn("incoming")},
	{key: "notes.count", label: "Notes", match: activityOfType("Note")},
	{key: "meetings.count", label: "Meetings", match: activityOfType("Meeting")},
	{key: "sms.count", label: "SMS", match: activityOfType("SMS")},
	{key: "leads.created.count", label: "Leads created", match: activityOfType("Created")},
}

func (s *Server) serveActivityMetrics(w http.ResponseWriter, _ *request) {
	out := make([]any, len(activityMetrics))
	for i, m := range activityMetrics {
		typ := "count"
		if m.sum != nil {
			typ = "duration"
		}
		out[i] = object{"key": m.key, "label": m.label, "type": typ}
	}
	writeJSON(w, http.StatusOK, object{"data": out})
}

var relativeRanges = []string{"today", "this-week", "this-month", "this-quarter", "this-year", "yesterday", "last-week",
	"last-month", "last-quarter", "last-year", "all-time"}

// serveActivityReport serves POST /report/activity/.
func (s *Server) serveActivityReport(w http.ResponseWriter, r *request) {
	var body struct {
		Type          string   `json:"type"`
		Metrics       []string `json:"metrics"`
		Users         []string `json:"users"`
		RelativeRange string   `json:"relative_range"`
		DatetimeRange *struct {
			Start string `json:"start"`
			End   string `json:"end"`
		} `json:"datetime_range"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		writeErr(w, errorf(http.StatusBadRequest, msgBadJSON))
		return
	}
	if body.Type != "overview" && body.Type != "comparison" {
		writeErr(w, fieldError("type", "Must be one of: overview, comparison."))
		return
	}
	if len(body.Metrics) == 0 {
		writeErr(w, fieldError("metrics", "Missing data for required field."))
		return
	}
	var metrics []activityMetric
	for _, k := range body.Metrics {
		i := slices.IndexFunc(activityMetrics, func(m activityMetric) bool { return m.key == k })
		if i < 0 {
			writeErr(w, fieldError("metrics", fmt.Sprintf("Unknown metric: %s.", k)))
			return
		}
		metrics = append(metrics, activityMetrics[i])
	}
	start, end := time.Time{}, s.now().Add(time.Hour)
	switch {
	case body.DatetimeRange != nil:
		var ok1, ok2 bool
		start, ok1 = parseTime(body.DatetimeRange.Start)
		end, ok2 = parseTime(body.DatetimeRange.End)
		if !ok1 || !ok2 || !end.After(start) {
			writeErr(w, fieldError("datetime_range", "Not a valid datetime range."))
			return
		}
	case body.RelativeRange == "all-time":
	case slices.Contains(relativeRanges, body.RelativeRange):
		writeErr(w, fieldError("relative_range", "Only all-time is supported by the fake; use datetime_range."))
		return
	default:
		writeErr(w, fieldError("datetime_range", "Either datetime_range or relative_range is required."))
		return
	}

	s.mu.Lock()
	totals := map[string]map[string]float64{} // user ("" in overview) -> metric -> value
	c := s.col(KindActivity)
	for _, id := range c.ids() {
		a := c.objs[id]
		if t := mustTime(a["date_created"]); t.Before(start) || !t.Before(end) {
			continue
		}
		user, _ := a["user_id"].(string)
		if len(body.Users) > 0 && !slices.Contains(body.Users, user) {
			continue
		}
		if body.Type == "overview" {
			user = ""
		}
		for _, m := range metrics {
			if !m.match(a) {
				continue
			}
			if totals[user] == nil {
				totals[user] = map[string]float64{}
			}
			if m.sum != nil {
				totals[user][m.key] += m.sum(a)
			} else {
				totals[user][m.key]++
			}
		}
	}
	var users []string
	if body.Type == "overview" {
		users = []string{""}
	} else if len(body.Users) > 0 {
		users = body.Users
	} else {
		users = s.col(KindUser).ids()
	}
	data := make([]any, 0, len(users))
	for _, u := range users {
		vals := object{}
		for _, m := range metrics {
			vals[m.key] = totals[u][m.key]
		}
		entry := object{"metrics": vals}
		if body.Type == "comparison" {
			entry["user_id"], entry["user_name"] = u, s.userName(u)
		}
		data = append(data, entry)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, object{"data": data})
}

// serveSentEmails serves GET /report/sent_emails/{org_id}/: outgoing
// emails sent in [date_start, date_end] (whole days, UTC), grouped by
// template.
func (s *Server) serveSentEmails(w http.ResponseWriter, r *request, org string) {
	if org != s.orgID {
		writeErr(w, errorf(http.StatusNotFound, "Empty query: Organization matching query does not exist."))
		return
	}
	day := func(name string) (time.Time, bool) {
		v := r.q.Get(name)
		if v == "" {
			return time.Time{}, true
		}
		t, err := time.Parse(time.DateOnly, v)
		return t, err == nil
	}
	start, ok1 := day("date_start")
	end, ok2 := day("date_end")
	if !ok1 || !ok2 {
		writeErr(w, fieldError("date_start", "Not a valid date."))
		return
	}
	if end.IsZero() {
		end = s.now()
	}
	end = end.Truncate(24*time.Hour).AddDate(0, 0, 1)
	user := r.q.Get("user_id")
	type row struct {
		id, name              any
		sent, opened, replied int
	}
	rows := map[string]*row{}
	s.mu.Lock()
	c := s.col(KindActivity)
	for _, id := range c.ids() {
		a := c.objs[id]
		if a["_type"] != "Email" || a["direction"] != "outgoing" || (user != "" && a["user_id"] != user) {
			continue
		}
		if t := mustTime(a["date_sent"]); t.Before(start) || !t.Before(end) {
			continue
		}
		key := fmt.Sprint(a["template_id"])
		rw := rows[key]
		if rw == nil {
			rw = &row{id: a["template_id"], name: a["template_name"]}
			rows[key] = rw
		}
		rw.sent++
		if opens, _ := a["opens"].([]any); len(opens) > 0 {
			rw.opened++
		}
		if a["has_reply"] == true {
			rw.replied++
		}
	}
	s.mu.Unlock()
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	data := make([]any, 0, len(keys))
	for _, k := range keys {
		rw := rows[k]
		data = append(data, object{"template_id": rw.id, "template_name": rw.name, "sent": rw.sent, "opened": rw.opened, "replied": rw.replied})
	}
	writeJSON(w, http.StatusOK, object{"data": data})
}
