package config

import (
	"strings"
	"testing"
	"time"
)

// TestSchedules: every kind of schedule mistake gives one clear problem at
// the key path (never a panic, a Go value or a Go function name), and good
// schedules pass.
func TestSchedules(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		spec string
		loc  *time.Location
		min  time.Duration
		want string // "" for none
	}{
		{spec: "*/30 * * * *"},
		{spec: "* * * * *"},
		{spec: "@hourly"},
		{spec: "@every 1m"},
		{spec: "@every 1h30m"},
		{spec: "@every 1d"},
		{spec: "CRON_TZ=UTC @every 2w"},
		{spec: "@every 1d12h", min: 36 * time.Hour},
		{spec: "@every 1d", min: 2 * 24 * time.Hour, want: `"@every 1d" fires every 24h0m0s, more often than min_interval (48h0m0s)`},
		{spec: "@every 12h1d", want: `@every needs a duration such as 30m, 2h or 7d, got "12h1d"`},
		{spec: "CRON_TZ=Europe/Berlin 0 6 * * 1-5"},
		{spec: "TZ=America/New_York @daily"},
		{spec: "0 6 * * *", loc: berlin},
		{spec: "0 0 29 2 *"}, // leap day: 2028
		{spec: "@every 5s", min: time.Second},
		{spec: "*/5 * * * *", min: 5 * time.Minute},
		{spec: "0 */2 * * *", min: 2 * time.Hour},
		// robfig/cron#554: these panicked.
		{spec: "TZ=Europe/Berlin", want: `"TZ=Europe/Berlin" is not a valid schedule: TZ=Europe/Berlin names a time zone but no schedule after it (write e.g. CRON_TZ=Europe/Berlin 0 6 * * *)`},
		{spec: "TZ=0", want: `"TZ=0" is not a valid schedule: TZ=0 names a time zone but no schedule after it`},
		{spec: "CRON_TZ=", want: `"CRON_TZ=" is not a valid schedule: CRON_TZ= names a time zone but no schedule after it (write e.g. CRON_TZ=Europe/Berlin 0 6 * * *)`},
		{spec: "CRON_TZ= * * * * *", want: `"CRON_TZ= * * * * *" is not a valid schedule: "" in the CRON_TZ= prefix is not a known IANA time zone`},
		{spec: "CRON_TZ=Mars/Olympus @daily", want: `"Mars/Olympus" in the CRON_TZ= prefix is not a known IANA time zone`},
		{spec: "@every 0s", want: `"@every 0s": @every needs a positive interval such as @every 1h`},
		{spec: "@every -5m", want: `"@every -5m": @every needs a positive interval`},
		{spec: "@every 30s", want: `"@every 30s" fires every 30s, more often than min_interval (1m0s)`},
		{spec: "@every 10m", min: time.Hour, want: `"@every 10m" fires every 10m0s, more often than min_interval (1h0m0s)`},
		{spec: "*/5 * * * *", min: 10 * time.Minute, want: `"*/5 * * * *" fires 5m0s after`},
		{spec: "0,1 3 * * *", min: 10 * time.Minute, want: `"0,1 3 * * *" fires 1m0s after`},
		{spec: "@hourly", min: 2 * time.Hour, want: `"@hourly" fires 1h0m0s after`},
		{spec: "@yearly", min: 30 * 24 * time.Hour},
		{spec: "0 0 1 1,2 *", min: 32 * 24 * time.Hour, want: `"0 0 1 1,2 *" fires 744h0m0s after`},
		{spec: "0 0 30 2 *", want: `"0 0 30 2 *" never fires: no date in the next 5 years matches it`},
		{spec: "0 0 31 4 *", want: "never fires"},
		{spec: "every tuesday", want: `"every tuesday" is not a valid schedule: expected exactly 5 fields, found 2; use 5 cron fields`},
		{spec: "0 */2 * * * *", want: "expected exactly 5 fields, found 6 (seconds are not supported)"},
		{spec: "61 * * * *", want: `"61 * * * *" is not a valid schedule: minute field "61": end of range (61) above maximum (59) (want 0-59, a range a-b, a list a,b or a step */n)`},
		{spec: "0 6 * * MON-FOO", want: `day-of-week field "MON-FOO": "FOO" is not a number or a name (want 0-6 or SUN-SAT`},
		{spec: "0 5-1 * * *", want: `hour field "5-1": beginning of range (5) beyond end of range (1)`},
		{spec: "*/0 * * * *", want: `minute field "*/0": step of range should be a positive number`},
		{spec: "@fortnightly", want: `unknown descriptor @fortnightly (known: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)`},
		{spec: "@every fortnight", want: `@every needs a duration such as 30m, 2h or 7d, got "fortnight" (units: s, m, h, d, w)`},
		{spec: "  ", want: "is required: 5 cron fields"},
	} {
		t.Run(tt.spec, func(t *testing.T) {
			minInterval := tt.min
			if minInterval == 0 {
				minInterval = DefaultMinInterval
			}
			err := checkSchedule(tt.spec, tt.loc, minInterval, now)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want == "":
				return
			case err == nil:
				t.Fatalf("no error, want %q", tt.want)
			case !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q lacks %q", err, tt.want)
			}
			checkPlainWords(t, err.Error())
		})
	}
}

// goWords are what a message must not show: Go types, values and packages.
var goWords = []string{"[]", "interface", "map[", "strconv", "time:", "config.", "!!", "*bool", "uint", "int64", "float64", "expected type", "panic", "runtime error"}

func checkPlainWords(t *testing.T, msg string) {
	t.Helper()
	for _, w := range goWords {
		if strings.Contains(msg, w) {
			t.Errorf("message shows %q: %s", w, msg)
		}
	}
}

// FuzzSchedule: no schedule string (with or without the job's timezone)
// makes Validate panic; a schedule it accepts parses as the scheduler will
// parse it, and a refusal never shows Go internals. The seed corpus runs
// with the normal tests; `go test -run '^$' -fuzz FuzzSchedule ./pkg/config`
// explores.
func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"TZ=Europe/Berlin", "TZ=0", "CRON_TZ=", "CRON_TZ= ", "TZ= @daily", "CRON_TZ=UTC",
		"CRON_TZ=Europe/Berlin 0 6 * * 1-5", "@every 0s", "@every -1m", "@every 1h", "0 0 30 2 *", "* * * * *",
		"*/0 * * * *", "61 * * * *", "0-99 * * * *", "1-2-3 * * * *", "1/2/3 * * * *", "@", "@every", "@every ",
		"TZ=", "TZ=\x00 *", "=", "CRON_TZ=../../etc/passwd * * * * *", "0 0 * * 7", "? ? ? ? ?", "0 0 L * *",
		"\t@daily", "@daily extra", "99999999999999999999 * * * *", " CRON_TZ=UTC 0 6 * * *"} {
		f.Add(s, "")
	}
	f.Add("0 6 * * *", "Europe/Berlin")
	f.Add("CRON_TZ=UTC 0 6 * * *", "America/New_York")
	f.Add("@every 1h", "TZ=0")
	f.Add("0 6 * * *", "Local")
	f.Fuzz(func(t *testing.T, spec, tz string) {
		c := valid()
		c.Jobs[0].Schedule, c.Jobs[0].Timezone = spec, tz
		c.Jobs[0].Reconcile = spec
		c.Jobs[0].Reports[0].Schedule = spec
		err := c.Validate(reports)
		if err == nil {
			var loc *time.Location
			if tz != "" {
				loc, _ = time.LoadLocation(tz)
			}
			if _, perr := ParseSchedule(spec, loc); perr != nil {
				t.Fatalf("%q (timezone %q) passed validation but does not parse: %v", spec, tz, perr)
			}
			return
		}
		if msg := err.Error(); strings.Contains(msg, "runtime error") || strings.Contains(msg, "strconv") {
			t.Fatalf("%q: message shows Go internals: %s", spec, msg)
		}
	})
}
