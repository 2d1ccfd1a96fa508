package main

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/closesync/closesync/internal/buildinfo"
)

// cmdVersion prints which closesync this is: the module version, the VCS
// commit the go command stamped (and whether the tree was modified), the
// Go version and the linked DuckDB library's version.
func cmdVersion(_ context.Context, args []string, e *env) error {
	fs := newFlags("version", "[--json]", e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return printVersion(e, buildinfo.Read(), *asJSON)
}

func printVersion(e *env, bi buildinfo.Info, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(bi)
	}
	commit := "unknown (built without VCS information: by go test, with -buildvcs=false, or in a git worktree)"
	if bi.Revision != "" {
		commit = bi.Revision
		if bi.Modified {
			commit += " (with uncommitted changes)"
		}
	}
	fmt.Fprintf(e.stdout, "closesync %s\n", bi.Version)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  commit\t%s\n", commit)
	if bi.CommitTime != "" {
		fmt.Fprintf(tw, "  committed\t%s\n", bi.CommitTime)
	}
	fmt.Fprintf(tw, "  go\t%s %s\n", bi.GoVersion, bi.Platform)
	fmt.Fprintf(tw, "  duckdb\t%s\n", bi.DuckDB)
	return tw.Flush()
}
