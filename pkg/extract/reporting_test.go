package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
)

// routeClient answers each path with a fixed body and records every call.
type routeClient struct {
	get    map[string]string
	post   map[string]string
	calls  []string
	bodies []map[string]any
}

func (c *routeClient) Get(ctx context.Context, path string, q url.Values, out any) error {
	c.calls = append(c.calls, "GET "+path+"?"+q.Encode())
	b, ok := c.get[path]
	if !ok {
		return fmt.Errorf("unexpected GET %s", path)
	}
	return json.Unmarshal([]byte(b), out)
}

func (c *routeClient) Post(ctx context.Context, path string, body, out any) error {
	c.calls = append(c.calls, "POST "+path)
	c.bodies = append(c.bodies, body.(map[string]any))
	b, ok := c.post[path]
	if !ok {
		return fmt.Errorf("unexpected POST %s", path)
	}
	return json.Unmarshal([]byte(b), out)
}

func (c *routeClient) ListOffset(context.Context, string, url.Values, int, func(closeapi.Page) error) error {
	return fmt.Errorf("unexpected list")
}

func (c *routeClient) ListCursor(context.Context, string, url.Values, int, func(closeapi.Page) error) error {
	return fmt.Errorf("unexpected list")
}

func (c *routeClient) Search(context.Context, map[string]any, func(closeapi.Page) error) error {
	return fmt.Errorf("unexpected search")
}

const meBody = `{"id": "user_me", "organizations": [{"id": "orga_1"}]}`

func TestReportingDaysAndBookmarks(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		bookmark string
		start    time.Time
		window   time.Duration
		firstDay string
		wantDays int
		wantWarn bool
	}{
		{name: "first run from start_date", start: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), firstDay: "2026-11-20", wantDays: 3},
		{name: "first run without start_date reads a year", firstDay: "2025-11-22", wantDays: 366},
		{name: "later run re-reads the 7-day window", bookmark: "2026-11-21T00:00:00Z", firstDay: "2026-11-15", wantDays: 8},
		{name: "window from the job", bookmark: "2026-11-21T00:00:00Z", window: 48 * time.Hour, firstDay: "2026-11-20", wantDays: 3},
		{name: "future bookmark is ignored", bookmark: "2027-01-01T00:00:00Z", start: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC),
			firstDay: "2026-11-21", wantDays: 2, wantWarn: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &routeClient{get: map[string]string{"/me/": meBody, "/report/sent_emails/orga_1/": `{"data": [
				{"template_id": "tmpl_1", "template_name": "Intro", "sent": 3, "opened": 2, "replied": null},
				{"template_id": null, "template_name": null, "sent": 1, "opened": "0"}]}`}}
			rep, _ := Lookup("reporting_sent_emails")
			var batches []Batch
			var warned bool
			err := Extract(context.Background(), c, Request{Report: rep, Bookmark: mark(tt.bookmark), StartDate: tt.start, Window: tt.window, Now: now,
				Warn: func(string) { warned = true }}, func(b Batch) error { batches = append(batches, b); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if len(batches) != tt.wantDays || warned != tt.wantWarn {
				t.Fatalf("%d days (warned %v), want %d (warned %v)", len(batches), warned, tt.wantDays, tt.wantWarn)
			}
			if !strings.Contains(c.calls[1], "date_end="+tt.firstDay+"&date_start="+tt.firstDay) {
				t.Errorf("first day asked: %s, want %s", c.calls[1], tt.firstDay)
			}
			// Every complete day is its own bookmark; today never is.
			last := batches[len(batches)-1]
			if last.Bookmark.String() != "" || batches[len(batches)-2].Bookmark.String() != "2026-11-21T00:00:00Z" {
				t.Errorf("bookmarks: yesterday %q, today %q", batches[len(batches)-2].Bookmark.String(), last.Bookmark.String())
			}
			// Two entries give three non-null metrics and one more.
			var rows []map[string]any
			for _, r := range last.Records {
				var m map[string]any
				if err := json.Unmarshal(r.Raw, &m); err != nil {
					t.Fatal(err)
				}
				rows = append(rows, m)
			}
			if len(rows) != 4 {
				t.Fatalf("rows %v", rows)
			}
			got := fmt.Sprintf("%v|%v|%v|%v|%v|%v|%v", rows[0]["template_id"], rows[0]["metric"], rows[0]["value"], rows[2]["template_id"], rows[2]["metric"], rows[3]["metric"], rows[3]["date"])
			if got != "tmpl_1|opened|2||opened|sent|2026-11-22" {
				t.Errorf("rows: %s", got)
			}
		})
	}
}

func TestActivityReportShapes(t *testing.T) {
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name, metrics, resp string
		want                []string // user metric value
		wantErr             string
	}{
		{name: "metrics object", metrics: `{"data": [{"key": "calls.count"}, {"key": "emails.count"}]}`,
			resp: `{"data": [{"user_id": "user_a", "user_name": "A", "metrics": {"calls.count": 2, "emails.count": 0}}]}`,
			want: []string{"user_a calls.count 2", "user_a emails.count 0"}},
		{name: "flat numeric fields and a user object", metrics: `["calls.count"]`,
			resp: `[{"user": {"id": "user_b"}, "calls.count": "5", "label": "B"}]`,
			want: []string{"user_b calls.count 5"}},
		{name: "metric of the wrong type", metrics: `{"data": [{"id": "calls.count"}]}`,
			resp:    `{"data": [{"user_id": "user_a", "metrics": {"calls.count": [1]}}]}`,
			wantErr: "metric calls.count is not a number"},
		{name: "no list in the response", metrics: `{"data": ["calls.count"]}`, resp: `{"totals": {}}`,
			wantErr: `unexpected response shape (no list and no "data" list)`},
		{name: "no metrics listed", metrics: `{"data": []}`, wantErr: "no metrics listed"},
		{name: "a null response is not an empty day", metrics: `{"data": ["calls.count"]}`, resp: `null`,
			wantErr: `unexpected response shape (no list and no "data" list)`},
		{name: "an error object is not an empty day", metrics: `{"data": ["calls.count"]}`, resp: `{"error": "maintenance"}`,
			wantErr: `unexpected response shape (no list and no "data" list)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &routeClient{get: map[string]string{"/me/": meBody, "/report/activity/metrics/": tt.metrics},
				post: map[string]string{"/report/activity/": tt.resp}}
			rep, _ := Lookup("reporting_activity")
			var got []string
			err := Extract(context.Background(), c, Request{Report: rep, StartDate: now, Now: now, Params: map[string]string{"user_id": "user_a"}},
				func(b Batch) error {
					for _, r := range b.Records {
						var m struct {
							User   string  `json:"user_id"`
							Metric string  `json:"metric"`
							Value  float64 `json:"value"`
							Org    string  `json:"organization_id"`
						}
						json.Unmarshal(r.Raw, &m)
						if m.Org != "orga_1" {
							t.Errorf("organization %q", m.Org)
						}
						got = append(got, fmt.Sprint(m.User, " ", m.Metric, " ", m.Value))
					}
					return nil
				})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "reporting_activity day 2026-11-22") {
					t.Fatalf("error %v, want one naming the day and %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("rows %v, want %v", got, tt.want)
			}
			body := c.bodies[0]
			if body["type"] != "comparison" || fmt.Sprint(body["users"]) != "[user_a]" {
				t.Errorf("request body %v", body)
			}
		})
	}
}
