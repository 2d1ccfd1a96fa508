package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/closesync/closesync/pkg/extract"
	"github.com/closesync/closesync/pkg/schema"
)

// reportInfo is one catalog entry as `closesync reports --json` prints it.
type reportInfo struct {
	Name           string           `json:"name"`
	Endpoint       string           `json:"endpoint,omitempty"`
	PrimaryKey     []string         `json:"primary_key"`
	Method         string           `json:"replication_method"`
	ReplicationKey string           `json:"replication_key,omitempty"`
	Parent         string           `json:"parent,omitempty"`
	DefaultMode    schema.WriteMode `json:"default_mode"`
	Children       []string         `json:"children,omitempty"`
	Description    string           `json:"description"`
}

func catalogInfo() []reportInfo {
	var out []reportInfo
	for _, r := range extract.Catalog() {
		out = append(out, reportInfo{
			Name: r.Name, Endpoint: r.Endpoint(), PrimaryKey: r.Table.Key, Method: string(r.Method),
			ReplicationKey: r.ReplicationKey(), Parent: r.Parent, DefaultMode: r.DefaultMode, Children: r.Children(), Description: r.Doc,
		})
	}
	return out
}

func cmdReports(ctx context.Context, args []string, e *env) error {
	fs := newFlags("reports", "[--json]", e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	infos := catalogInfo()
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
