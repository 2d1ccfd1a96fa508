// Package demo is what closesync demo sets up: the built-in fake Close API
// on loopback, a config that syncs every report from it, and the sample
// queries it shows.
package demo

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/closesync/closesync/internal/closefake"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/load"
)

// Query is a sample query the demo prints, runs and shows, ready to paste
// into the DuckDB CLI.
type Query struct{ Title, SQL string }

// Queries are the demo's sample queries.
var Queries = []Query{
	{"Leads by status", `SELECT status_label, count(*) AS leads FROM live.leads GROUP BY 1 ORDER BY 2 DESC;`},
	{"Open pipeline by opportunity status", `SELECT status_label, count(*) AS opportunities, printf('%,.2f', sum(value) / 100) AS value
FROM live.opportunities WHERE status_type = 'active' GROUP BY 1 ORDER BY sum(value) DESC;`},
	{"Activity mix over the last 90 days", `SELECT _type, count(*) AS activities FROM live.activities
WHERE date_created > now() - INTERVAL 90 DAY GROUP BY 1 ORDER BY 2 DESC;`},
	{"Leads by a custom field, by its name (the typed view leads_custom)", `SELECT "Lead Source", count(*) AS leads FROM live.leads_custom
GROUP BY 1 ORDER BY 2 DESC;`},
}

// Fake is the fake Close API serving on loopback.
type Fake struct {
	ln  net.Listener
	srv *http.Server
}

// Start serves a fake organisation of scale leads from seed. The demo's
// fake is as strict as the tests' (a small max_skip on every offset
// resource, nginx's HTML 502/503/504 pages, Basic auth only): closesync
// handles all of it, so the demo relaxes nothing and shows what a real
// organisation does, keyset restarts included. Its failure injection is
// simply off (no FailureRate, no rate limit).
func Start(seed int64, scale int) (*Fake, error) {
	fake := closefake.New(closefake.Options{Seed: seed, Scale: scale})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start fake Close API: %w", err)
	}
	srv := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Fake{ln: ln, srv: srv}, nil
}

// Addr is the fake's listening address.
func (f *Fake) Addr() net.Addr { return f.ln.Addr() }

// BaseURL is the fake's API root.
func (f *Fake) BaseURL() string { return "http://" + f.ln.Addr().String() + "/api/v1" }

// Close stops the fake.
func (f *Fake) Close() error { return f.srv.Close() }

// Config syncs every root report of the catalog from baseURL into dbPath.
func Config(dbPath, baseURL string) *config.Config {
	var reports []config.ReportRef
	for _, r := range extract.Catalog() {
		if r.Parent == "" {
			reports = append(reports, config.ReportRef{Name: r.Name})
		}
	}
	return &config.Config{
		Database: dbPath,
		Schema:   "close",
		Log:      config.Log{Level: "warn", Format: "console"},
		Accounts: []config.Account{{Name: "demo", APIKey: config.Secret(closefake.DefaultAPIKey), BaseURL: baseURL, MaxConcurrency: config.DefaultMaxConcurrency}},
		Jobs:     []config.Job{{Name: "demo", Account: "demo", Schedule: "@hourly", Timeout: time.Hour, Reports: reports}},
	}
}

// Counts counts the rows of every report's table (schema close), in
// catalog order.
func Counts(ctx context.Context, store *load.Store) ([]load.TableRows, error) {
	var out []load.TableRows
	for _, r := range extract.Catalog() {
		var n int64
		err := store.Query(ctx, func(rows *sql.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&n); err != nil {
					return err
				}
			}
			return nil
		}, fmt.Sprintf(`SELECT count(*) FROM close.%q`, r.Name))
		if err != nil {
			return nil, fmt.Errorf("count %s: %w", r.Name, err)
		}
		out = append(out, load.TableRows{Table: r.Name, Rows: n})
	}
	return out, nil
}
