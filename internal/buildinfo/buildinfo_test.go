package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tt := range []struct {
		name     string
		bi       *debug.BuildInfo
		ok       bool
		want     Info
		revLabel string
	}{
		{
			name: "a clean checkout",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/closesync/closesync", Version: "v1.2.3"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "2b68262abc"}, {Key: "vcs.modified", Value: "false"},
					{Key: "vcs.time", Value: "2026-12-02T10:00:00Z"}, {Key: "GOOS", Value: "linux"}}},
			ok:       true,
			want:     Info{Version: "v1.2.3", Revision: "2b68262abc", CommitTime: "2026-12-02T10:00:00Z", GoVersion: "go1.26.8", DuckDB: "v1.5.5"},
			revLabel: "2b68262abc",
		},
		{
			name: "uncommitted changes",
			bi: &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202100000-2b68262abc+dirty"},
				Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "2b68262abc"}, {Key: "vcs.modified", Value: "true"}}},
			ok:       true,
			want:     Info{Version: "v0.0.0-20261202100000-2b68262abc+dirty", Revision: "2b68262abc", Modified: true, GoVersion: "go1.26.8", DuckDB: "v1.5.5"},
			revLabel: "2b68262abc-dirty",
		},
		{
			name:     "go test or -buildvcs=false: no VCS settings",
			bi:       &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			ok:       true,
			want:     Info{Version: "(devel)", GoVersion: "go1.26.8", DuckDB: "v1.5.5"},
			revLabel: "unknown",
		},
		{
			name:     "no build info",
			ok:       false,
			want:     Info{Version: "(devel)", DuckDB: "v1.5.5"},
			revLabel: "unknown",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi, tt.ok, "v1.5.5")
			if got.Platform == "" {
				t.Error("Platform is empty")
			}
			got.Platform = ""
			if tt.want.GoVersion == "" {
				if !strings.HasPrefix(got.GoVersion, "go") {
					t.Errorf("GoVersion = %q, want the runtime's", got.GoVersion)
				}
				got.GoVersion = ""
			}
			if got != tt.want {
				t.Errorf("fromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if l := got.RevisionLabel(); l != tt.revLabel {
				t.Errorf("RevisionLabel = %q, want %q", l, tt.revLabel)
			}
		})
	}
}

// TestReadLinkedDuckDB: the DuckDB version is the linked library's.
func TestReadLinkedDuckDB(t *testing.T) {
	info := Read()
	if !strings.HasPrefix(info.DuckDB, "v1.") {
		t.Errorf("DuckDB = %q, want the linked library's version (v1.x)", info.DuckDB)
	}
	if info.Version == "" || info.GoVersion == "" {
		t.Errorf("Read = %+v: empty version", info)
	}
}
