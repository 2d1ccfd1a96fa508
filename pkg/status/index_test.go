package status

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

// TestIndexListsEveryEndpoint: / names each route Handler serves, with a
// line of what it is; other unknown paths stay 404.
func TestIndexListsEveryEndpoint(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	code, ctype, body := get(t, srv.URL+"/")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET /: %d %s", code, ctype)
	}
	eps := s.endpoints()
	if len(eps) < 4 {
		t.Fatalf("only %d endpoints", len(eps))
	}
	for _, ep := range eps {
		var line string
		for _, l := range strings.Split(body, "\n") {
			if strings.HasPrefix(l, ep.method+" ") && strings.Contains(l, " "+ep.path+" ") {
				line = l
			}
		}
		if line == "" || !strings.Contains(line, ep.about) || ep.about == "" {
			t.Errorf("/ lacks a line for %s %s with %q:\n%s", ep.method, ep.path, ep.about, body)
		}
	}
	for _, want := range []string{"GET   /metrics", "GET   /healthz", "GET   /runs", "POST  /jobs/{name}/run"} {
		if !strings.Contains(body, want) {
			t.Errorf("/ lacks %q:\n%s", want, body)
		}
	}
	if code, _, _ := get(t, srv.URL+"/nope"); code != http.StatusNotFound {
		t.Errorf("GET /nope: %d, want 404", code)
	}
}

func TestBuildInfoMetric(t *testing.T) {
	s := New()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if _, _, body := get(t, srv.URL+"/metrics"); strings.Contains(body, "closesync_build_info{") {
		t.Errorf("build info before it is set:\n%s", body)
	}
	s.SetBuildInfo(BuildInfo{Version: "(devel)", Revision: "abc-dirty", GoVersion: "go1.26.8", DuckDB: "v1.0.0"})
	s.Reloaded(false) // a reload leaves the build info alone
	s.Reloaded(true)
	s.SetBuildInfo(BuildInfo{Version: "v1.2.3", Revision: "2b68262", GoVersion: "go1.26.8", DuckDB: "v1.5.5"})
	_, _, body := get(t, srv.URL+"/metrics")
	want := `closesync_build_info{duckdb="v1.5.5",goversion="go1.26.8",revision="2b68262",version="v1.2.3"} 1`
	if !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %s", want)
	}
	if n := strings.Count(body, "closesync_build_info{"); n != 1 {
		t.Errorf("%d closesync_build_info series, want 1 (the last set)", n)
	}
}
