package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultMinInterval is min_interval when unset: no schedule may fire more
// often than this.
const DefaultMinInterval = time.Minute

// scheduleForms is what a schedule may be, for error messages.
const scheduleForms = "5 cron fields (minute hour day-of-month month day-of-week), or @hourly, @daily, @every 1h ..."

// minuteGranularity is how often a 5-field cron spec can fire at most.
const minuteGranularity = time.Minute

// gapFires and gapHorizon bound the fire times checkSchedule looks at to
// find the shortest gap of a cron spec (only when min_interval is above a
// minute, the shortest a 5-field spec can have): the first 5000, within a
// year.
const (
	gapFires   = 5000
	gapHorizon = 366 * 24 * time.Hour
)

// ParseSchedule parses a schedule as the scheduler does (robfig/cron's
// ParseStandard), in loc when the spec sets no CRON_TZ= of its own (nil:
// the machine's zone). It never panics: robfig/cron's parser panics on a
// zone prefix without a space after it ("TZ=Europe/Berlin", robfig/cron#554),
// and any panic becomes an error.
func ParseSchedule(spec string, loc *time.Location) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("is empty")
	}
	if tz, rest, ok := cutTZ(spec); ok {
		if rest == "" {
			return nil, fmt.Errorf("%s names a time zone but no schedule after it (write e.g. CRON_TZ=%s 0 6 * * *)", strings.SplitN(spec, "=", 2)[0]+"="+tz, orExample(tz))
		}
		if _, err := time.LoadLocation(tz); err != nil || tz == "" {
			return nil, fmt.Errorf("%q in the CRON_TZ= prefix is not a known IANA time zone (e.g. Europe/Berlin, America/New_York, UTC)", tz)
		}
		spec = "CRON_TZ=" + tz + " " + rest
	} else if loc != nil {
		spec = "CRON_TZ=" + loc.String() + " " + spec
	}
	return safeParse(normalizeEvery(spec))
}

// normalizeEvery rewrites the interval of an "@every" spec (after any
// CRON_TZ= prefix) from ParseDuration's forms ("@every 7d") into Go's
// ("@every 168h0m0s"), which robfig/cron reads; any other spec, or an
// interval that is not a duration, is returned as it is.
func normalizeEvery(spec string) string {
	spec = strings.TrimSpace(spec)
	prefix, body := "", spec
	if tz, rest, ok := cutTZ(spec); ok {
		prefix, body = strings.SplitN(spec, "=", 2)[0]+"="+tz+" ", rest
	}
	every, ok := strings.CutPrefix(body, "@every ")
	if !ok {
		return spec
	}
	d, err := ParseDuration(every)
	if err != nil {
		return spec
	}
	return prefix + "@every " + d.String()
}

// safeParse is cron.ParseStandard with any panic turned into an error.
func safeParse(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot be parsed (%v)", r)
		}
	}()
	return cron.ParseStandard(spec)
}

func orExample(tz string) string {
	if _, err := time.LoadLocation(tz); err != nil || tz == "" {
		return "Europe/Berlin"
	}
	return tz
}

// cutTZ splits a "CRON_TZ=<zone> <rest>" or "TZ=<zone> <rest>" prefix.
func cutTZ(spec string) (tz, rest string, ok bool) {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if after, found := strings.CutPrefix(spec, p); found {
			tz, rest, _ = strings.Cut(after, " ")
			return tz, strings.TrimSpace(rest), true
		}
	}
	return "", "", false
}

// checkSchedule checks a schedule: it parses (see ParseSchedule), fires at
// least once in the next five years (robfig/cron's horizon, so "0 0 30 2 *"
// is refused), and never fires more often than minInterval. Errors quote
// the spec and say what was expected, in words.
func checkSchedule(spec string, loc *time.Location, minInterval time.Duration, now time.Time) error {
	if strings.TrimSpace(spec) == "" {
		return errors.New("is required: " + scheduleForms) //nolint:staticcheck // ST1005: a problem line for the user; scheduleForms ends in "..."
	}
	sched, err := ParseSchedule(spec, loc)
	if err != nil {
		msg := describeCronError(spec, err)
		if strings.Contains(msg, "write e.g.") {
			return fmt.Errorf("%q is not a valid schedule: %s", spec, msg)
		}
		return fmt.Errorf("%q is not a valid schedule: %s; use %s", spec, msg, scheduleForms)
	}
	body := strings.TrimSpace(spec)
	if _, rest, ok := cutTZ(body); ok {
		body = rest
	}
	if every, ok := strings.CutPrefix(body, "@every "); ok {
		// cron rounds an interval under a second up to one second, so
		// "@every 0s" and "@every -1h" would fire every second: refuse
		// them from the interval as written.
		d, _ := ParseDuration(every)
		switch {
		case d <= 0:
			return fmt.Errorf("%q: @every needs a positive interval such as @every 1h", spec)
		case d < minInterval:
			return fmt.Errorf("%q fires every %s, more often than min_interval (%s)", spec, d, minInterval)
		}
		return nil
	}
	next := sched.Next(now)
	if next.IsZero() {
		return fmt.Errorf("%q never fires: no date in the next 5 years matches it (check the day of month against the month, e.g. 30 February)", spec)
	}
	if minInterval > minuteGranularity {
		prev := next
		for range gapFires {
			t := sched.Next(prev)
			if t.IsZero() || t.Sub(next) > gapHorizon {
				break
			}
			if gap := t.Sub(prev); gap < minInterval {
				return fmt.Errorf("%q fires %s after %s, more often than min_interval (%s)", spec, gap,
					prev.Format("2006-01-02 15:04 MST"), minInterval)
			}
			prev = t
		}
	}
	return nil
}

var cronFieldNames = []string{"minute", "hour", "day-of-month", "month", "day-of-week"}

// cronFieldRange is the values each field takes, for messages.
var cronFieldRange = []string{"0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-6 or SUN-SAT"}

var (
	cronFieldsRE = regexp.MustCompile(`^expected exactly 5 fields, found (\d+)`)
	cronIntRE    = regexp.MustCompile(`^failed to parse int from (.*?): `)
	cronTrailRE  = regexp.MustCompile(`: [^:]*$`)
)

// describeCronError rewrites robfig/cron's message in user words: which
// field is wrong and why, without Go values ([every tuesday], strconv.Atoi,
// time: ...).
func describeCronError(spec string, err error) string {
	msg := err.Error()
	body := strings.TrimSpace(spec)
	if _, rest, ok := cutTZ(body); ok {
		body = rest
	}
	switch {
	case strings.HasPrefix(msg, "is empty"), strings.HasPrefix(msg, "cannot be parsed"),
		strings.Contains(msg, "CRON_TZ= prefix"), strings.Contains(msg, "but no schedule after it"):
		return msg
	case strings.HasPrefix(msg, "unrecognized descriptor"):
		return fmt.Sprintf("unknown descriptor %s (known: @yearly, @monthly, @weekly, @daily, @hourly, @every <duration>)", strings.Fields(body)[0])
	case strings.HasPrefix(msg, "failed to parse duration"):
		every := strings.TrimSpace(strings.TrimPrefix(body, "@every"))
		return fmt.Sprintf("@every needs a duration such as 30m, 2h or 7d, got %q (units: s, m, h, d, w)", every)
	}
	if m := cronFieldsRE.FindStringSubmatch(msg); m != nil {
		s := fmt.Sprintf("expected exactly 5 fields, found %s", m[1])
		if m[1] == "6" {
			s += " (seconds are not supported)"
		}
		return s
	}
	// A field is wrong: find which by parsing each alone.
	fields := strings.Fields(body)
	if len(fields) == 5 {
		for i, f := range fields {
			probe := []string{"*", "*", "*", "*", "*"}
			probe[i] = f
			_, ferr := safeParse(strings.Join(probe, " "))
			if ferr == nil {
				continue
			}
			return fmt.Sprintf("%s field %q: %s (want %s, a range a-b, a list a,b or a step */n)",
				cronFieldNames[i], f, cronReason(ferr.Error()), cronFieldRange[i])
		}
	}
	return cronReason(msg)
}

// cronReason is the reason in a robfig/cron field error, without the Go
// error it wraps.
func cronReason(msg string) string {
	if m := cronIntRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%q is not a number or a name", m[1])
	}
	// "end of range (61) above maximum (59): 61": the tail repeats the field.
	return cronTrailRE.ReplaceAllString(msg, "")
}
