package status

import "github.com/prometheus/client_golang/prometheus"

// BuildInfo labels closesync_build_info (see internal/buildinfo).
type BuildInfo struct {
	Version, Revision, GoVersion, DuckDB string
}

// SetBuildInfo makes closesync_build_info{version,revision,goversion,duckdb}
// 1 for b, replacing what an earlier call set.
func (s *Status) SetBuildInfo(b BuildInfo) {
	s.build.Reset()
	s.build.With(prometheus.Labels{"version": b.Version, "revision": b.Revision, "goversion": b.GoVersion, "duckdb": b.DuckDB}).Set(1)
}
