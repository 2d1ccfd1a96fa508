// Package bytesize reads the sizes DuckDB's settings take (memory_limit,
// checkpoint_threshold): a number and a unit, in powers of 1000 (B, KB, MB,
// GB, TB) or of 1024 (KiB, MiB, GiB, TiB), in any case, with an optional
// space between them.
package bytesize

import (
	"regexp"
	"strconv"
	"strings"
)

var sizeRE = regexp.MustCompile(`(?i)^([0-9]+(?:\.[0-9]+)?) ?(b|kb|mb|gb|tb|kib|mib|gib|tib)$`)

var units = map[string]float64{"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}

// Parse returns the bytes of a DuckDB size; ok is false when s is not one.
func Parse(s string) (bytes float64, ok bool) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseFloat(m[1], 64)
	return n * units[strings.ToLower(m[2])], err == nil
}
