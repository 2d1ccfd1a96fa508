// Package preflight is validate --check: with each account's key, who the
// key belongs to (user, organization, role) and one cheap request per
// distinct endpoint of the account's jobs, naming each report the key
// cannot read. It reads, never writes.
package preflight

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/pipeline"
	"github.com/closesync/closesync/pkg/schedule"
)

// checkTimeout bounds each request of validate --check.
const checkTimeout = 30 * time.Second

// ErrRefused marks Check's error when Close refused a key or a report (an
// error of the config, so also schedule.ErrUsage: exit 2); otherwise a
// check could not be made.
var ErrRefused = errors.New("refused by Close")

type refusedError struct{ msg string }

func (e refusedError) Error() string { return e.msg }
func (e refusedError) Is(target error) bool {
	return target == ErrRefused || target == schedule.ErrUsage
}

// Check is validate --check, printing its findings to w: per account, whose key it is (user and
// organization, from /me/ and /organization/{id}/) and whether its user is
// an organization admin (a warning if not), then one cheap request per
// distinct endpoint of the account's jobs (_limit=1, _fields=id), naming
// each report the key cannot read. A refused key or an unreadable report is
// an error of the config (ErrRefused: exit 2); a check that could not be
// made (Close unreachable, 5xx) fails (exit 1). Nothing is synced. jobs are
// the config's (schedule.Jobs); client is each account's Close client.
func Check(ctx context.Context, w io.Writer, accounts []config.Account, jobs []pipeline.Job, client func(account string) *closeapi.Client) error {
	var refused, failed int
	tally := func(err error) {
		if cannotRead(err) {
			refused++
		} else {
			failed++
		}
	}
	for _, a := range accounts {
		c := client(a.Name)
		who, err := identify(ctx, c, a)
		if err != nil {
			fmt.Fprintf(w, "accounts %s: %v\n", a.Name, err)
			tally(err)
			continue
		}
		fmt.Fprintf(w, "accounts %s: key of %s in organization %s, role %s (%s)\n", a.Name, who.user(), who.org(), who.Role, a.BaseURL)
		if who.OrgErr != nil {
			fmt.Fprintf(w, "accounts %s: cannot read /organization/%s/: %v\n", a.Name, who.OrgID, who.OrgErr)
			tally(who.OrgErr)
		}
		if !who.admin() {
			fmt.Fprintf(w, "warning: accounts %s: %s is not an admin of %s (role %s): for non-admins Close keeps the event log's "+
				"data and previous_data for one hour only, and closesync reads them to refetch edited activities and to apply deletes "+
				"(%s and the activity reports); use an admin's key\n", a.Name, who.user(), fmt.Sprintf("%q", who.OrgName), who.Role, eventReports())
		}
		results := map[string]error{} // by probe, shared by the account's jobs
		for _, j := range jobs {
			if j.Account != a.Name {
				continue
			}
			bad, requests := 0, 0
			for _, rr := range j.Reports {
				for _, p := range probesOf(rr.Report, j, who) {
					err, done := results[p.key()]
					if !done {
						requests++
						cctx, cancel := context.WithTimeout(ctx, checkTimeout)
						err = p.run(cctx, c)
						cancel()
						results[p.key()] = err
					}
					if err != nil {
						bad++
						var ae *closeapi.APIError
						if !errors.As(err, &ae) { // an API error names the request; others do not
							err = fmt.Errorf("%s: %w", p, err)
						}
						fmt.Fprintf(w, "jobs %s: report %s: cannot read: %v\n", j.Name, rr.Report.Name, err)
						tally(err)
						break
					}
				}
			}
			if bad == 0 {
				fmt.Fprintf(w, "jobs %s: the key reads all %d reports (%d endpoints probed)\n", j.Name, len(j.Reports), requests)
			}
		}
	}
	switch {
	case refused > 0:
		return refusedError{fmt.Sprintf("--check: %s with the keys of %s (above)", plural(refused+failed, "problem"), plural(len(accounts), "account"))}
	case failed > 0:
		return fmt.Errorf("--check: %s could not be made (above)", plural(failed, "check"))
	}
	return nil
}

// cannotRead reports an answer that no retry changes: the key or its plan
// may not do this (401, 402, 403, a 400 such as the event log's, 404).
func cannotRead(err error) bool {
	var ae *closeapi.APIError
	return errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 && ae.Status != 429
}

// identity is who an API key belongs to.
type identity struct {
	UserID, First, Last, Email string
	OrgID, OrgName, Role       string
	// OrgErr is why /organization/{id}/ could not be read (the name and
	// role then come from /me/).
	OrgErr error
}

func (w identity) user() string {
	name := strings.TrimSpace(w.First + " " + w.Last)
	switch {
	case name == "":
		return w.Email
	case w.Email == "":
		return name
	}
	return fmt.Sprintf("%s <%s>", name, w.Email)
}

func (w identity) org() string { return fmt.Sprintf("%q (%s)", w.OrgName, w.OrgID) }

// admin: Close's admin role. Superusers and custom roles are not admins for
// the event log's retention of data.
func (w identity) admin() bool { return w.Role == "admin" }

type membership struct {
	OrganizationID string `json:"organization_id"`
	UserID         string `json:"user_id"`
	RoleID         string `json:"role_id"`
}

// identify reads /me/ and the account's organization.
func identify(ctx context.Context, c *closeapi.Client, a config.Account) (identity, error) {
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	raw, err := c.Me(cctx)
	cancel()
	if err != nil {
		return identity{}, err
	}
	var me struct {
		ID            string `json:"id"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
		Email         string `json:"email"`
		Organizations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organizations"`
		Memberships []membership `json:"memberships"`
	}
	if err := json.Unmarshal(raw, &me); err != nil {
		return identity{}, fmt.Errorf("GET /me/: %w", err)
	}
	if me.ID == "" || len(me.Organizations) == 0 {
		return identity{}, errors.New("GET /me/ names no user or no organization")
	}
	w := identity{UserID: me.ID, First: me.FirstName, Last: me.LastName, Email: me.Email, OrgID: a.OrganizationID}
	if w.OrgID == "" {
		w.OrgID = me.Organizations[0].ID
	}
	for _, o := range me.Organizations {
		if o.ID == w.OrgID {
			w.OrgName = o.Name
		}
	}
	roleIn := func(ms []membership) {
		for _, m := range ms {
			if m.UserID == me.ID && (m.OrganizationID == "" || m.OrganizationID == w.OrgID) && m.RoleID != "" {
				w.Role = m.RoleID
			}
		}
	}
	roleIn(me.Memberships)
	var org struct {
		Name        string       `json:"name"`
		Memberships []membership `json:"memberships"`
	}
	cctx, cancel = context.WithTimeout(ctx, checkTimeout)
	err = c.Get(cctx, "/organization/"+url.PathEscape(w.OrgID)+"/", url.Values{"_fields": {"id,name,memberships"}}, &org)
	cancel()
	if err != nil {
		w.OrgErr = err
	} else {
		if org.Name != "" {
			w.OrgName = org.Name
		}
		roleIn(org.Memberships)
	}
	if w.Role == "" {
		w.Role = "unknown"
	}
	return w, nil
}

// probe is one cheap request that reads what a report reads.
type probe struct {
	method, path string
	q            url.Values
	body         map[string]any
	day          *extract.Report // a daily report: read one day
	dc           *extract.DayContext
}

func (p probe) key() string {
	if p.day != nil {
		return "day " + p.day.Name
	}
	b, _ := json.Marshal(p.body)
	return p.method + " " + p.path + "?" + p.q.Encode() + " " + string(b)
}

func (p probe) String() string {
	if p.day != nil {
		return "one day of " + p.day.Name
	}
	return p.method + " " + p.path
}

func (p probe) run(ctx context.Context, c *closeapi.Client) error {
	var out json.RawMessage
	switch {
	case p.day != nil:
		_, err := p.day.Walk.(extract.Daily).Day(ctx, c, time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1), p.dc)
		return err
	case p.method == "POST":
		return c.Post(ctx, p.path, p.body, &out)
	}
	return c.Get(ctx, p.path, p.q, &out)
}

// probesOf lists the requests that show whether the key reads rep: one per
// source, the first page of one object.
func probesOf(rep *extract.Report, j pipeline.Job, who identity) []probe {
	params := map[string]string{"organization_id": j.Params["organization_id"], "user_id": j.Params["user_id"]}
	if params["organization_id"] == "" {
		params["organization_id"] = who.OrgID
	}
	fill := func(s string) string {
		for k, v := range params {
			if v == "" && k == "user_id" {
				v = who.UserID
			}
			s = strings.ReplaceAll(s, "{"+k+"}", url.PathEscape(v))
		}
		return s
	}
	if _, daily := rep.Walk.(extract.Daily); daily {
		return []probe{{day: rep, dc: &extract.DayContext{OrganizationID: params["organization_id"], UserID: j.Params["user_id"]}}}
	}
	var out []probe
	for _, s := range rep.Sources {
		q := url.Values{}
		for k, vs := range s.Params {
			for _, v := range vs {
				q.Add(k, fill(v))
			}
		}
		if _, search := rep.Walk.(extract.Search); search {
			obj := q.Get("object_type")
			out = append(out, probe{method: "POST", path: "/data/search/", body: map[string]any{
				"query":   map[string]any{"type": "and", "queries": []any{map[string]any{"type": "object_type", "object_type": obj}}},
				"_limit":  1,
				"_fields": map[string]any{obj: []string{"id"}},
			}})
			continue
		}
		q.Set("_fields", "id")
		if _, object := rep.Walk.(extract.Object); !object {
			q.Set("_limit", "1")
		}
		out = append(out, probe{method: "GET", path: fill(s.Path), q: q})
	}
	return slices.Clip(out)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// eventReports names the reports whose deletes come from the event log.
func eventReports() string {
	var names []string
	for _, r := range extract.Declaring(extract.ApplyEventDeletes) {
		names = append(names, r.Name)
	}
	return strings.Join(names, ", ")
}
