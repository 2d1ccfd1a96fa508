package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Close's reporting endpoints return aggregates, not objects: no ids, no
// dates of change, and no documented response body. closesync asks them
// for one UTC day at a time and stores one row per (day, user or template,
// metric), keyed by those columns, so a day read again is upserted over
// itself. The last complete day is the bookmark; every run re-reads the
// attribution window before it (default 7 days), since activities are
// logged and edited late.

// DayFunc reads one UTC day [day, day+24h) of a reporting endpoint and
// returns its rows as JSON objects with the table's columns.
type DayFunc func(ctx context.Context, c Client, day time.Time, dc *DayContext) ([]json.RawMessage, error)

// DayContext is what a DayFunc knows of the run; it lives for one run.
type DayContext struct {
	// OrganizationID is the job's organization_id, else the key's from /me/.
	OrganizationID string
	// UserID is the job's user_id; empty: the whole organization.
	UserID string
	// metrics caches the activity report's metric listing for the run.
	metrics []string
}

const (
	// defaultReportingStart bounds the first run of a daily report when the
	// job has no start_date: one request a day adds up.
	defaultReportingStart = 365 * 24 * time.Hour
	// defaultReportingWindow is re-read on every run.
	defaultReportingWindow = 7 * 24 * time.Hour
)

// metricColumns are the columns every reporting row has after its key.
func metricColumns() []schema.Column {
	return []schema.Column{str("metric"), f64("value")}
}

var reportingReports = []*Report{
	{
		Name: "reporting_activity", Sources: src("/report/activity/"), Walk: Daily{Day: activityReportDay},
		Method: Incremental, Strategy: Strategy{Field: "date", Window: defaultReportingWindow},
		Doc: "Close's activity report (`POST /report/activity/`, type `comparison`) for every metric `GET /report/activity/metrics/` lists, " +
			"one request per UTC day: one row per day, user and metric. Key (organization_id, date, user_id, metric). " +
			"Each run re-reads the attribution window (default 7 days) before the last complete day; the first run starts at `start_date` " +
			"(default 365 days ago). Close does not document the response body: closesync reads the per-user entries of `data`, " +
			"with their values either in a `metrics` object or as numeric fields, and fails the run naming the shape otherwise.",
		Table: schema.Table{Name: "reporting_activity", Key: []string{"organization_id", "date", "user_id", "metric"},
			Columns: cols([]schema.Column{str("organization_id"), date("date"), str("user_id"), str("user_name")}, metricColumns())},
	},
	{
		Name: "reporting_sent_emails", Sources: src("/report/sent_emails/{organization_id}/"), Walk: Daily{Day: sentEmailsDay},
		Method: Incremental, Strategy: Strategy{Field: "date", Window: defaultReportingWindow},
		Doc: "Close's sent-emails report (`GET /report/sent_emails/{org_id}/`, grouped by template), one request per UTC day " +
			"(`date_start` = `date_end`): one row per day, template and numeric field of the entry (sent, opened, replied ...). " +
			"Key (organization_id, date, user_id, template_id, metric); `user_id` is the job's `user_id` filter, empty for the whole " +
			"organization, and `template_id` is empty for emails sent without a template. Windows and start as `reporting_activity`.",
		Table: schema.Table{Name: "reporting_sent_emails", Key: []string{"organization_id", "date", "user_id", "template_id", "metric"},
			Columns: cols([]schema.Column{str("organization_id"), date("date"), str("user_id"), str("template_id"), str("template_name")},
				metricColumns())},
	},
}

func init() { register(reportingReports...) }

// activityReportDay asks POST /report/activity/ for every metric, per user.
func activityReportDay(ctx context.Context, c Client, day time.Time, dc *DayContext) ([]json.RawMessage, error) {
	if dc.metrics == nil {
		var listing json.RawMessage
		if err := c.Get(ctx, "/report/activity/metrics/", nil, &listing); err != nil {
			return nil, fmt.Errorf("list the activity metrics: %w", err)
		}
		names, err := metricNames(listing)
		if err != nil {
			return nil, fmt.Errorf("GET /report/activity/metrics/: %w", err)
		}
		dc.metrics = names
	}
	body := map[string]any{
		"type":           "comparison",
		"metrics":        dc.metrics,
		"datetime_range": map[string]string{"start": day.Format(time.RFC3339), "end": day.Add(24 * time.Hour).Format(time.RFC3339)},
	}
	if u := dc.UserID; u != "" {
		body["users"] = []string{u}
	}
	var resp json.RawMessage
	if err := c.Post(ctx, "/report/activity/", body, &resp); err != nil {
		return nil, err
	}
	entries, err := reportEntries(resp)
	if err != nil {
		return nil, fmt.Errorf("POST /report/activity/: %w", err)
	}
	var out []json.RawMessage
	for _, e := range entries {
		user := userOf(e)
		var name any
		_ = json.Unmarshal(e["user_name"], &name)
		vals, err := numericValues(e)
		if err != nil {
			return nil, fmt.Errorf("POST /report/activity/ user %q: %w", user, err)
		}
		for _, m := range slices.Sorted(maps.Keys(vals)) {
			out = append(out, mustJSON(map[string]any{"organization_id": dc.OrganizationID, "date": day.Format(time.DateOnly),
				"user_id": user, "user_name": name, "metric": m, "value": vals[m]}))
		}
	}
	return out, nil
}

// sentEmailsDay asks GET /report/sent_emails/{org}/ for one day.
func sentEmailsDay(ctx context.Context, c Client, day time.Time, dc *DayContext) ([]json.RawMessage, error) {
	path := "/report/sent_emails/" + url.PathEscape(dc.OrganizationID) + "/"
	q := url.Values{"date_start": {day.Format(time.DateOnly)}, "date_end": {day.Format(time.DateOnly)}}
	user := dc.UserID
	if user != "" {
		q.Set("user_id", user)
	}
	var resp json.RawMessage
	if err := c.Get(ctx, path, q, &resp); err != nil {
		return nil, err
	}
	entries, err := reportEntries(resp)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	var out []json.RawMessage
	for _, e := range entries {
		var tmpl, name any
		_ = json.Unmarshal(e["template_id"], &tmpl)
		_ = json.Unmarshal(e["template_name"], &name)
		id, _ := tmpl.(string)
		delete(e, "template_id")
		vals, err := numericValues(e)
		if err != nil {
			return nil, fmt.Errorf("GET %s template %q: %w", path, id, err)
		}
		for _, m := range slices.Sorted(maps.Keys(vals)) {
			out = append(out, mustJSON(map[string]any{"organization_id": dc.OrganizationID, "date": day.Format(time.DateOnly),
				"user_id": user, "template_id": id, "template_name": name, "metric": m, "value": vals[m]}))
		}
	}
	return out, nil
}

// metricNames reads the metric listing: a list (top level or under
// "data") of names, or of objects naming them in key, id or name.
func metricNames(raw json.RawMessage) ([]string, error) {
	items, err := dataArray(raw)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			names = append(names, s)
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(it, &obj) != nil {
			return nil, fmt.Errorf("unexpected metric %.120s", it)
		}
		found := false
		for _, k := range []string{"key", "id", "name"} {
			if json.Unmarshal(obj[k], &s) == nil && s != "" {
				names, found = append(names, s), true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("metric without a key, id or name: %.120s", it)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no metrics listed: %.200s", raw)
	}
	return names, nil
}

// dataArray is the response's list: the body itself or its "data".
func dataArray(raw json.RawMessage) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' && json.Unmarshal(raw, &items) == nil {
		return items, nil // a bare list; null is not one
	}
	var obj struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Data == nil {
		return nil, fmt.Errorf("unexpected response shape (no list and no \"data\" list): %.200s", raw)
	}
	return *obj.Data, nil
}

// reportEntries are the objects of the response's list.
func reportEntries(raw json.RawMessage) ([]map[string]json.RawMessage, error) {
	items, err := dataArray(raw)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]json.RawMessage, 0, len(items))
	for i, it := range items {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(it, &obj); err != nil || obj == nil {
			return nil, fmt.Errorf("entry %d is not an object: %.120s", i, it)
		}
		out = append(out, obj)
	}
	return out, nil
}

// userOf is an entry's user id: user_id, or user as an id or an object.
func userOf(e map[string]json.RawMessage) string {
	var s string
	if json.Unmarshal(e["user_id"], &s) == nil && s != "" {
		return s
	}
	if json.Unmarshal(e["user"], &s) == nil && s != "" {
		return s
	}
	var u struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(e["user"], &u) == nil {
		return u.ID
	}
	return ""
}

// numericValues are an entry's metrics: its "metrics" object if it has
// one, else its own numeric fields (numbers or numeric strings). Nulls
// are skipped; a metric of another type is an error.
func numericValues(e map[string]json.RawMessage) (map[string]float64, error) {
	src := e
	if m, ok := e["metrics"]; ok {
		src = nil
		if err := json.Unmarshal(m, &src); err != nil {
			return nil, fmt.Errorf("metrics is not an object: %.120s", m)
		}
	}
	out := map[string]float64{}
	for k, v := range src {
		v = bytes.TrimSpace(v)
		if len(v) == 0 || bytes.Equal(v, []byte("null")) {
			continue
		}
		var f float64
		if json.Unmarshal(v, &f) == nil {
			out[k] = f
			continue
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				out[k] = f
				continue
			}
		}
		if _, fromMetrics := e["metrics"]; fromMetrics {
			return nil, fmt.Errorf("metric %s is not a number: %.80s", k, v)
		}
		// Outside a metrics object, non-numeric fields are labels.
	}
	return out, nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	return b
}
