package demo

import (
	"net/http"
	"testing"

	"github.com/closesync/closesync/pkg/extract"
)

// TestConfigIsValid: the demo's config passes the config's own checks and
// names every root report; its fake answers with the demo key.
func TestConfigIsValid(t *testing.T) {
	f, err := Start(1, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := Config(t.TempDir()+"/demo.duckdb", f.BaseURL())
	if err := cfg.Validate(extract.Names()); err != nil {
		t.Fatalf("demo config: %v", err)
	}
	roots := 0
	for _, r := range extract.Catalog() {
		if r.Parent == "" {
			roots++
		}
	}
	if got := len(cfg.Jobs[0].Reports); got != roots {
		t.Errorf("%d reports, want every root report (%d)", got, roots)
	}
	req, _ := http.NewRequest("GET", f.BaseURL()+"/me/", nil)
	req.SetBasicAuth(string(cfg.Accounts[0].APIKey), "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /me/ with the demo key: %s", resp.Status)
	}
}
