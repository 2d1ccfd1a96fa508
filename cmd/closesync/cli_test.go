package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/closesync/closesync/internal/buildinfo"
	"github.com/closesync/closesync/pkg/extract"
)

// TestBinaryCommandLine runs the binary (this test binary as closesync, in
// an empty environment) for version, help and usage errors: exit codes,
// and which stream each goes to.
func TestBinaryCommandLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	versionRE := regexp.MustCompile(`^closesync \S+\n  commit  +.+\n(  committed  \S+\n)?  go  +go1\.\d+\S* \w+/\w+\n  duckdb  +v1\.\d+\.\d+\S*\n$`)
	for _, tt := range []struct {
		args   []string
		code   int
		stdout *regexp.Regexp
		stderr string
	}{
		{[]string{"version"}, exitOK, versionRE, ""},
		{[]string{"--version"}, exitOK, versionRE, ""},
		{[]string{"--help"}, exitOK, regexp.MustCompile(`(?s)^closesync copies .*\nCommands:\n  run .*  version .*Exit codes: 0 success`), ""},
		{[]string{"sync", "--help"}, exitOK, regexp.MustCompile(`(?s)^closesync sync: .*\n  --config FILE .*Examples:\n  \$ closesync sync `), ""},
		{nil, exitUsage, regexp.MustCompile(`^$`), "Commands:\n"},
		{[]string{"synk"}, exitUsage, regexp.MustCompile(`^$`), `closesync: unknown command "synk" (did you mean "sync"?); see 'closesync help'` + "\n"},
		{[]string{"sync", "--confg", "x.yaml"}, exitUsage, regexp.MustCompile(`^$`),
			`closesync sync: unknown flag --confg (did you mean --config?); see 'closesync sync --help'` + "\n"},
		{[]string{"validate", "--config", "missing.yaml", "--chek"}, exitUsage, regexp.MustCompile(`^$`), `unknown flag --chek (did you mean --check?)`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runBare(t, dir, tt.args...)
			if code != tt.code || !tt.stdout.MatchString(out) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %s)\nstderr %q (want %q)", code, tt.code, out, tt.stdout, errOut, tt.stderr)
			}
			if tt.code == exitOK && errOut != "" {
				t.Errorf("stderr %q", errOut)
			}
		})
	}
}

// TestVersionShowsTheBuild: version prints the build information of the
// binary, with the linked DuckDB's version, and --json the same fields.
func TestVersionShowsTheBuild(t *testing.T) {
	t.Parallel()
	bi := buildinfo.Read()
	code, out, _ := runIn(t, nil, "version")
	if code != exitOK || !strings.HasPrefix(out, "closesync "+bi.Version+"\n") || !regexp.MustCompile(`\n  duckdb  +`+regexp.QuoteMeta(bi.DuckDB)+"\n").MatchString(out) ||
		!regexp.MustCompile(`\n  go  +`+regexp.QuoteMeta(bi.GoVersion)+" ").MatchString(out) {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	code, out, _ = runIn(t, nil, "version", "--json")
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil || got != bi {
		t.Errorf("version --json: exit %d, %v: %+v, want %+v", code, err, got, bi)
	}
	for _, tt := range []struct {
		info buildinfo.Info
		want string
	}{
		{buildinfo.Info{Version: "v1.2.3", Revision: "2b68262", CommitTime: "2026-12-02T10:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64", DuckDB: "v1.5.5"},
			"closesync v1.2.3\n  commit     2b68262\n  committed  2026-12-02T10:00:00Z\n  go         go1.26.8 linux/amd64\n  duckdb     v1.5.5\n"},
		{buildinfo.Info{Version: "(devel)", Revision: "2b68262", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64", DuckDB: "v1.5.5"},
			"closesync (devel)\n  commit  2b68262 (with uncommitted changes)\n  go      go1.26.8 linux/amd64\n  duckdb  v1.5.5\n"},
		{buildinfo.Info{Version: "(devel)", GoVersion: "go1.26.8", Platform: "linux/amd64", DuckDB: "v1.5.5"},
			"closesync (devel)\n  commit  unknown (built without VCS information: by go test, with -buildvcs=false, or in a git worktree)\n" +
				"  go      go1.26.8 linux/amd64\n  duckdb  v1.5.5\n"},
	} {
		var b strings.Builder
		if err := printVersion(&env{stdout: &b}, tt.info, false); err != nil || b.String() != tt.want {
			t.Errorf("printVersion(%+v) = %q, %v; want %q", tt.info, b.String(), err, tt.want)
		}
	}
}

// TestReportsFitsATerminal: the default reports table fits 100 columns and
// names every report with how it syncs and what it reads; --wide is the
// full table; --json parses, with every report's table and columns.
func TestReportsFitsATerminal(t *testing.T) {
	t.Parallel()
	code, out, errOut := runBare(t, t.TempDir(), "reports")
	if code != exitOK || errOut != "" {
		t.Fatalf("reports: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for _, l := range lines {
		if len(l) > 100 {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
		if strings.HasSuffix(l, "...") {
			t.Errorf("line cut short: %q", l)
		}
	}
	if !regexp.MustCompile(`^REPORT +SYNC +READS$`).MatchString(lines[0]) {
		t.Errorf("header %q", lines[0])
	}
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) >= 3 {
			rows[f[0]] = f[1:]
		}
	}
	for _, tt := range []struct{ report, want string }{
		{"leads", "by date_updated /lead/"},
		{"activities_call", "by date_created /activity/call/"},
		{"users", "full /user/"},
		{"leads_addresses", "child leads.addresses[]"},
		{"users_self_sip_numbers", "child users_self.phone_numbers[]"},
		{"custom_fields", "full /custom_field/lead/ and 5 more"},
		{"smart_views", "full /saved_search/?type__in=lead,contact"},
		{"reporting_sent_emails", "by date /report/sent_emails/{organization_id}/"},
	} {
		if got := strings.Join(rows[tt.report], " "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.report, got, tt.want)
		}
	}
	for _, name := range extract.Names() {
		if _, ok := rows[name]; !ok {
			t.Errorf("reports lacks %s", name)
		}
	}

	code, out, _ = runBare(t, t.TempDir(), "reports", "--wide")
	if code != exitOK || !regexp.MustCompile(`(?m)^REPORT +ENDPOINT +PRIMARY KEY +METHOD +REPLICATION KEY +PARENT +MODE +HISTORY$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^leads_addresses +- +lead_id, _position +child +- +leads +upsert +-$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^leads +/lead/ +id +incremental +date_updated +- +upsert +versions$`).MatchString(out) {
		t.Errorf("reports --wide: exit %d\n%s", code, out)
	}

	code, out, _ = runBare(t, t.TempDir(), "reports", "--json")
	var got []struct {
		Name    string   `json:"name"`
		Table   string   `json:"table"`
		Sync    string   `json:"sync"`
		Sources []string `json:"sources"`
		Parent  string   `json:"parent"`
		Key     []string `json:"primary_key"`
		Doc     string   `json:"description"`
		Columns []struct{ Name, Type, Path string }
	}
	if err := json.Unmarshal([]byte(out), &got); code != exitOK || err != nil {
		t.Fatalf("reports --json: exit %d, %v\n%s", code, err, out)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Name)
		if r.Table != r.Name || r.Sync == "" || r.Doc == "" || len(r.Key) == 0 || len(r.Columns) == 0 || (r.Parent == "") == (len(r.Sources) == 0) {
			t.Errorf("reports --json: %+v", r)
		}
	}
	if !slices.Equal(names, extract.Names()) {
		t.Errorf("reports --json names %v, want %v", names, extract.Names())
	}
}
