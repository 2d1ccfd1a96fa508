package config

import (
	"slices"
	"testing"
)

func TestDidYouMean(t *testing.T) {
	for _, tt := range []struct {
		name    string
		choices []string
		want    string
	}{
		{"leds", reports, `(did you mean "leads"?)`},
		{"activites", reports, `(did you mean "activities"?)`}, //nolint:misspell // the typo is the input
		{"contatcs", reports, `(did you mean "contacts"?)`},
		{"Leads", reports, `(did you mean "leads"?)`},                                                                       // case only
		{"lead_stat", reports, `(did you mean "lead_statuses"?)`},                                                           // prefix of a choice
		{"opportunity", reports, `(did you mean "opportunities"?)`},                                                         // distance 3 beats a completion at 9
		{"opportunity_stat", reports, `(did you mean "opportunity_statuses"?)`},                                             // a completion, nearer than the rest
		{"opportunites", reports, `(did you mean "opportunities"?)`},                                                        //nolint:misspell // distance 1
		{"activities_calls_x", reports, `(did you mean "activities_call"?)`},                                                // a choice is its prefix
		{"activities_cal", reports, `(did you mean "activities_call"?)`},                                                    // distance 1
		{"task", reports, `(did you mean "tasks"?)`},                                                                        // distance 1
		{"mian", []string{"main", "sales"}, `(did you mean "main"?)`},                                                       // transposition
		{"ab", []string{"main", "a", "abc"}, `(did you mean "abc" or "a"?)`},                                                // ties share the hint, longer prefix first
		{"synk", commandNames, `(did you mean "sync"?)`},                                                                    // a command
		{"sycn", commandNames, `(did you mean "sync"?)`},                                                                    // transposition: distance 2
		{"confg", []string{"config", "job", "report", "dry-run"}, `(did you mean "config"?)`},                               // a flag
		{"rset", commandNames, `(did you mean "reset"?)`},                                                                   // distance 1
		{"histroy", commandNames, `(did you mean "history"?)`},                                                              // distance 2
		{"verison", commandNames, `(did you mean "version"?)`},                                                              //nolint:misspell // transposition
		{"activities_call_x", reports, `(did you mean "activities_call"?)`},                                                 // distance 2, also a prefix
		{"contacts_emial", []string{"contacts", "contacts_emails", "contacts_phones"}, `(did you mean "contacts_emails"?)`}, // distance 3 in 14 letters
		{"leads_stuff", reports, `(did you mean "leads"?)`},                                                                 // a choice is its prefix
		{"xy", []string{"ab", "cd"}, ""},                                                                                    // distance 2 = whole name
		{"zzzzzz", reports, ""},                                                                                             // nothing close
		{"", reports, ""},                                                                                                   // empty
		{"lea", reports, `(did you mean "leads"?)`},                                                                         // distance 2, shorter than the prefix rule
		{"act", []string{"activities_call", "activities", "accounts"}, `(did you mean "activities"?)`},                      // prefix: the nearest in length
		{"d", []string{"a", "b", "c", "e"}, ""},                                                                             // one letter: no guessing
		{"warning", logLevels, `(did you mean "warn"?)`},                                                                    // a choice is its prefix
		{"inf", logLevels, `(did you mean "info"?)`},                                                                        // distance 1
		{"xx", []string{"xxd", "xxa", "xxb", "xxc"}, `(did you mean "xxa", "xxb" or "xxc"?)`},                               // at most three
	} {
		if got := didYouMean(tt.name, tt.choices); got != tt.want {
			t.Errorf("didYouMean(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// commandNames are closesync's commands, as cmd/closesync lists them.
var commandNames = []string{"run", "sync", "reset", "validate", "reports", "history", "demo", "version", "help"}

func TestClosest(t *testing.T) {
	for _, tt := range []struct {
		name    string
		choices []string
		want    []string
	}{
		{"opportunity", reports, []string{"opportunities"}},
		{"xx", []string{"xxd", "xxa", "xxb", "xxc"}, []string{"xxa", "xxb", "xxc"}},
		{"zzzzzz", reports, nil},
		{"Sync", commandNames, []string{"sync"}}, // case only
		{"", commandNames, nil},
	} {
		got := Closest(tt.name, tt.choices)
		if !slices.Equal(got, tt.want) {
			t.Errorf("Closest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestChoiceHint(t *testing.T) {
	choices := []string{"debug", "info", "warn", "error"}
	if got := choiceHint("loud", choices, 4); got != "(valid: debug, info, warn, error)" {
		t.Errorf("choiceHint = %q", got)
	}
	if got := choiceHint("loud", choices, 3); got != "" {
		t.Errorf("choiceHint with a short limit = %q, want empty", got)
	}
	if got := choiceHint("inf", choices, 4); got != `(did you mean "info"?)` {
		t.Errorf("choiceHint = %q", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"leads", "leds", 1}, {"mian", "main", 1}, {"é", "e", 1}, {"flaw", "lawn", 2},
		{"sycn", "sync", 1}, {"ab", "ba", 1}, {"abc", "ca", 3}, {"emial", "emails", 2}, {"nope", "core", 2},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := editDistance(tt.b, tt.a); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d (not symmetric)", tt.b, tt.a, got, tt.want)
		}
	}
}
