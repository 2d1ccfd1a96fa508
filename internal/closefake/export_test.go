package closefake

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestExportBodiesAreValidated: the export POSTs refuse unknown keys,
// unknown values, a missing format or type, date_format on a JSON export
// and the options the fake does not implement, with Close's 400 shapes.
func TestExportBodiesAreValidated(t *testing.T) {
	t.Parallel()
	_, c := newTest(t, Options{Scale: 5})
	cases := []struct {
		path string
		body map[string]any
		want int
	}{
		{"/export/lead/", map[string]any{"format": "json", "type": "leads"}, http.StatusOK},
		{"/export/lead/", map[string]any{"format": "json", "type": "leads", "send_done_email": false}, http.StatusOK},
		{"/export/lead/", map[string]any{"format": "json", "type": "leads", "bogus": 1}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "xml", "type": "leads"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"type": "leads"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "json"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "json", "type": "people"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "json", "type": "leads", "date_format": "iso8601"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "json", "type": "leads", "send_done_email": "no"}, http.StatusBadRequest},
		{"/export/lead/", map[string]any{"format": "json", "type": "leads", "include_activities": true}, http.StatusBadRequest},
		{"/export/opportunity/", map[string]any{"format": "json"}, http.StatusOK},
		{"/export/opportunity/", map[string]any{"format": "json", "params": map[string]any{}}, http.StatusOK},
		{"/export/opportunity/", map[string]any{"format": "json", "type": "leads"}, http.StatusBadRequest},
		{"/export/opportunity/", map[string]any{"format": "json", "params": "all"}, http.StatusBadRequest},
	}
	for _, tc := range cases {
		if r := c.do(http.MethodPost, tc.path, tc.body, nil); r.code != tc.want {
			t.Errorf("POST %s %v: %d %s, want %d", tc.path, tc.body, r.code, r.raw, tc.want)
		}
	}
}

// TestExportProgressesAndDownloads: an export goes created, started,
// in_progress, done over its polls; its download_url serves the snapshot
// of the instant it started, gzip-compressed, in the export's shape
// (custom fields by name, original date format), without the API key
// and never with it.
func TestExportProgressesAndDownloads(t *testing.T) {
	t.Parallel()
	s, c := newTest(t, Options{Scale: 20})
	r := ok(t, "start", c.do(http.MethodPost, "/export/lead/", map[string]any{"format": "json", "type": "leads"}, nil))
	body := r.body
	id := body["id"].(string)
	if body["status"] != "created" {
		t.Fatalf("new export: %v", body)
	}
	// A change after the start is not in the file.
	lead := s.IDs(KindLead)[0]
	if err := s.Update(KindLead, lead, map[string]any{"description": "after the start"}); err != nil {
		t.Fatal(err)
	}
	var link string
	for i, want := range []string{"started", "in_progress", "done"} {
		st := ok(t, "poll", c.get("/export/"+id+"/", nil)).body
		if st["status"] != want {
			t.Fatalf("poll %d: status %v, want %s", i+1, st["status"], want)
		}
		link, _ = st["download_url"].(string)
	}
	if link == "" || strings.Contains(link, apiPrefix) {
		t.Fatalf("download_url %q", link)
	}
	withKey, _ := http.NewRequest(http.MethodGet, link, nil)
	withKey.SetBasicAuth(DefaultAPIKey, "")
	refused, err := http.DefaultTransport.RoundTrip(withKey)
	if err != nil {
		t.Fatal(err)
	}
	refused.Body.Close()
	if refused.StatusCode != http.StatusBadRequest {
		t.Fatalf("download with the API key: %d, want 400", refused.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, link, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("download: %v %v", resp, err)
	}
	defer resp.Body.Close()
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	var leads []map[string]any
	if err := json.Unmarshal(raw, &leads); err != nil || len(leads) != 20 {
		t.Fatalf("file: %d leads, %v", len(leads), err)
	}
	for _, l := range leads {
		if l["id"] == lead && l["description"] == "after the start" {
			t.Errorf("the file holds a change made after the export started")
		}
		if _, ok := l["custom"].(map[string]any); !ok {
			t.Errorf("lead %v: no custom object", l["id"])
		}
		for k := range l {
			if strings.HasPrefix(k, "custom.") {
				t.Errorf("lead %v has the list API's key %s", l["id"], k)
			}
		}
		if d, _ := l["date_created"].(string); !originalTime(d) {
			t.Errorf("lead %v date_created %q is not in the original format", l["id"], d)
		}
	}
	if !bytes.Contains(raw, []byte(`"Lead Source":`)) {
		t.Errorf("no custom field by name in the file")
	}
}

func originalTime(s string) bool {
	return len(s) == 32 && s[10] == ' ' && s[19] == '.' && strings.HasSuffix(s, "+00:00")
}
