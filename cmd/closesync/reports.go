package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/closesync/closesync/pkg/extract"
)

func cmdReports(ctx context.Context, args []string, e *env) error {
	fs := newFlags("reports", "[--json]", e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	infos := extract.Infos()
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(infos)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tENDPOINT\tPRIMARY KEY\tMETHOD\tREPLICATION KEY\tPARENT")
	for _, r := range infos {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Endpoint), strings.Join(r.PrimaryKey, ", "), r.Method, dash(r.ReplicationKey), dash(r.Parent))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
