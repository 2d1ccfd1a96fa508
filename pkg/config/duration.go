package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// DurationForms is what a duration may be, for messages and help texts.
const DurationForms = "a number and a unit such as 90s, 45m, 6h, 7d, 2w or 1d12h (units: ms, s, m, h, d, w, y; largest first)"

// ParseDuration parses a duration as Prometheus does
// (model.ParseDuration): integers with the units y, w, d, h, m, s and ms,
// largest first, so "7d", "2w" and "1d12h" are durations (a day is 24h, a
// week 7d, a year 365d). A leading "-" makes it negative, which validation
// refuses with its own message. Go's forms (time.ParseDuration: "1.5h",
// "500us") are still read, so configs written for them keep working.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := model.ParseDurationAllowNegative(s); err == nil {
		return time.Duration(d), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration: write %s", s, DurationForms)
}
