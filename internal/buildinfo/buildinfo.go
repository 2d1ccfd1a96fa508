// Package buildinfo says which closesync this is: the module version and
// VCS commit the go command stamped into the binary, the Go version, and
// the version of the DuckDB library linked in.
package buildinfo

import (
	"runtime"
	"runtime/debug"

	"github.com/duckdb/duckdb-go/v2/mapping"
)

// Info describes the running binary.
type Info struct {
	// Version is the main module's version: a tag or pseudo-version when
	// built from a VCS checkout with a go command that stamps it, "(devel)"
	// otherwise.
	Version string `json:"version"`
	// Revision is the VCS commit ("" when the build recorded none, as with
	// go test or -buildvcs=false); Modified that the tree had uncommitted
	// changes.
	Revision string `json:"revision,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	// CommitTime is the commit's time (RFC 3339), when recorded.
	CommitTime string `json:"commit_time,omitempty"`
	GoVersion  string `json:"go_version"`
	Platform   string `json:"platform"`
	// DuckDB is the linked library's version (duckdb_library_version).
	DuckDB string `json:"duckdb"`
}

// Read returns the running binary's build information.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	return fromBuildInfo(bi, ok, mapping.LibraryVersion())
}

// fromBuildInfo is Read's work, apart from the process.
func fromBuildInfo(bi *debug.BuildInfo, ok bool, duckdb string) Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, DuckDB: duckdb}
	if !ok || bi == nil {
		return info
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	if v := bi.Main.Version; v != "" {
		info.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		case "vcs.time":
			info.CommitTime = s.Value
		}
	}
	return info
}

// RevisionLabel is the revision as one word: the commit, "-dirty" appended
// when the tree was modified, "unknown" when none was recorded.
func (i Info) RevisionLabel() string {
	switch {
	case i.Revision == "":
		return "unknown"
	case i.Modified:
		return i.Revision + "-dirty"
	default:
		return i.Revision
	}
}
