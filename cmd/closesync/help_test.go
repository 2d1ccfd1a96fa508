package main

import (
	"regexp"
	"strings"
	"testing"
)

// singleDash finds a flag written the stdlib way, "-config", rather than
// "--config" (the "-h" of "-h, --help" is the one allowed).
var singleDash = regexp.MustCompile(`(^|[\s\[(|,])-[a-z][a-z-]+`)

// TestCommandHelp: every command's --help shows its synopsis, each flag it
// defines as --name, an example of itself, and the environment variables
// it reads; no line is wider than 100 columns and none names a flag
// -name. `closesync help X` prints the same.
func TestCommandHelp(t *testing.T) {
	t.Parallel()
	wantEnv := map[string][]string{
		"run":      {"CLOSESYNC_<KEY>", "api_key_env", "CREDENTIALS_DIRECTORY"},
		"sync":     {"CLOSESYNC_<KEY>", "api_key_env", "CREDENTIALS_DIRECTORY"},
		"validate": {"CLOSESYNC_<KEY>", "api_key_env", "CREDENTIALS_DIRECTORY"},
		"verify":   {"CLOSESYNC_<KEY>", "api_key_env", "CREDENTIALS_DIRECTORY"},
		"reset":    {"CLOSESYNC_<KEY>"},
		"history":  {"CLOSESYNC_<KEY>"},
		"compact":  {"CLOSESYNC_<KEY>"},
		"publish":  {"CLOSESYNC_<KEY>"},
		"webhooks": {"CLOSESYNC_<KEY>", "api_key_env", "CREDENTIALS_DIRECTORY"},
	}
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runIn(t, nil, c.name, "--help")
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if c.name == "help" {
				return // the top-level help: TestTopLevelHelp
			}
			for _, want := range []string{"closesync " + c.name + ": " + c.summary, "Usage:\n  closesync " + c.name,
				"Flags:\n", "  -h, --help", "Examples:\n  $ closesync " + c.name} {
				if !strings.Contains(out, want) {
					t.Errorf("help lacks %q:\n%s", want, out)
				}
			}
			for _, v := range wantEnv[c.name] {
				if !strings.Contains(out, "Environment:\n") || !strings.Contains(out, v) {
					t.Errorf("help does not mention %s:\n%s", v, out)
				}
			}
			if _, listed := wantEnv[c.name]; !listed && strings.Contains(out, "Environment:") {
				t.Errorf("help lists environment variables %s does not read:\n%s", c.name, out)
			}
			for _, ex := range c.examples {
				if !strings.HasPrefix(ex, "closesync "+c.name) && !strings.HasPrefix(ex, "systemctl ") {
					t.Errorf("example %q is not of %s", ex, c.name)
				}
			}
			checkHelpLines(t, out)
			_, viaHelp, _ := runIn(t, nil, "help", c.name)
			if viaHelp != out {
				t.Errorf("closesync help %s differs from --help:\n%s\n---\n%s", c.name, viaHelp, out)
			}
		})
	}
}

func checkHelpLines(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if len(line) > helpWidth {
			t.Errorf("line wider than %d columns (%d): %q", helpWidth, len(line), line)
		}
		if m := singleDash.FindString(line); m != "" && !strings.HasSuffix(strings.TrimSpace(line), "-h, --help") &&
			!strings.Contains(line, "-h, --help") {
			t.Errorf("a flag written %q (want --name): %q", strings.TrimSpace(m), line)
		}
	}
}

// TestFlagHelpLines: each command's help lists its flags as --name with
// their placeholders, and the non-zero defaults.
func TestFlagHelpLines(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"sync", "--help"}, []string{"  --config FILE ", "  --job J ", "  --report R ", "  --since DATE ", "  --until DATE ",
			"  --dry-run ", "  --reconcile ", "  --full-refresh "}},
		{[]string{"history", "--help"}, []string{"  --limit N ", "how many runs, newest first (default 20)", "  --json "}},
		{[]string{"demo", "--help"}, []string{"  --dir D ", `(default ".")`, "  --scale N ", "(default 300)", "  --seed N "}},
		{[]string{"validate", "--help"}, []string{"  --credentials-dir DIR", "  --check "}},
		{[]string{"reports", "--help"}, []string{"  --wide ", "  --json "}},
		{[]string{"run", "--help"}, []string{"  --config FILE "}},
		{[]string{"reset", "--help"}, []string{"  --config FILE ", "  --report R ", "  --job J ", "  --drop "}},
		{[]string{"version", "--help"}, []string{"  --json "}},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			_, out, _ := runIn(t, nil, tt.args...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
			// --config comes first.
			if i := strings.Index(out, "\n  --config "); i >= 0 && i != strings.Index(out, "\n  --") {
				t.Errorf("--config is not the first flag:\n%s", out)
			}
		})
	}
}

// TestTopLevelHelp: closesync help, --help, -h and no arguments list every
// command with its one line, examples and the environment; no arguments is
// a usage error (exit 2, on stderr).
func TestTopLevelHelp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args   []string
		code   int
		stderr bool
	}{
		{[]string{"help"}, exitOK, false},
		{[]string{"--help"}, exitOK, false},
		{[]string{"-h"}, exitOK, false},
		{[]string{"help", "--help"}, exitOK, false},
		{nil, exitUsage, true},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runIn(t, nil, tt.args...)
			text, other := out, errOut
			if tt.stderr {
				text, other = errOut, out
			}
			if code != tt.code || other != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr %q", code, tt.code, out, errOut)
			}
			for _, c := range commands() {
				if !regexp.MustCompile(`(?m)^  ` + c.name + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(text) {
					t.Errorf("help lacks the line of %s:\n%s", c.name, text)
				}
			}
			for _, want := range []string{"Usage:\n  closesync <command> [flags]", "Examples:\n  $ closesync ", "CLOSESYNC_<KEY>",
				"'closesync help <command>'", "Exit codes: 0 success, 1 a run failed, 2 bad usage or config, 130 interrupted (Ctrl-C)."} {
				if !strings.Contains(text, want) {
					t.Errorf("help lacks %q:\n%s", want, text)
				}
			}
			checkHelpLines(t, text)
		})
	}
}

// TestCommandLineErrors: unknown commands and flags, and bad flag values,
// are usage errors (exit 2) that name flags as --name, with a did-you-mean.
func TestCommandLineErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"synk"}, `closesync: unknown command "synk" (did you mean "sync"?); see 'closesync help'`},
		{[]string{"reprots"}, `(did you mean "reports"?)`},
		{[]string{"verison"}, `(did you mean "version"?)`}, //nolint:misspell // the typo is the input
		{[]string{"frobnicate"}, `unknown command "frobnicate" (commands: run, sync, verify, reset, compact, publish, validate, webhooks, reports, history, demo, version, help)`},
		{[]string{"--verison"}, `unknown flag --verison (did you mean --version?)`}, //nolint:misspell // the typo is the input
		{[]string{"--config", "x.yaml"}, `unknown flag --config; a command's flags follow it: closesync <command> [flags]`},
		{[]string{"help", "synk"}, `closesync help: unknown command "synk" (did you mean "sync"?)`},
		{[]string{"help", "sync", "run"}, "help takes one command"},
		{[]string{"sync", "--confg", "x.yaml"}, `closesync sync: unknown flag --confg (did you mean --config?); see 'closesync sync --help'`},
		{[]string{"sync", "-confg", "x.yaml"}, `unknown flag --confg (did you mean --config?)`},
		{[]string{"sync", "--dryrun"}, `unknown flag --dryrun (did you mean --dry-run?)`},
		{[]string{"sync", "--reports", "leads"}, `unknown flag --reports (did you mean --report?)`},
		{[]string{"sync", "--zzzzzz"}, `closesync sync: unknown flag --zzzzzz; see 'closesync sync --help'`},
		{[]string{"history", "--config"}, `closesync history: flag --config needs a value; see 'closesync history --help'`},
		{[]string{"history", "--limit", "many"}, `invalid value "many" for flag --limit: parse error`},
		{[]string{"reports", "--json=maybe"}, `invalid boolean value "maybe" for --json: parse error`},
		{[]string{"reports", "--wide", "--json"}, `--wide and --json cannot be combined`},
		{[]string{"reports", "leads"}, `unexpected argument "leads"; see 'closesync reports --help'`},
		{[]string{"version", "--jsn"}, `unknown flag --jsn (did you mean --json?)`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runIn(t, nil, tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, exitUsage, tt.want)
			}
			if out != "" {
				t.Errorf("a usage error printed to stdout: %q", out)
			}
		})
	}
}
