package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/closesync/closesync/pkg/extract"
)

// reportsWidth is the width of the compact table: a 100-column terminal.
const reportsWidth = 100

func cmdReports(ctx context.Context, args []string, e *env) error {
	fs := newFlags("reports", "[--wide | --json]", e)
	wide := fs.Bool("wide", false, "every catalog column: endpoint, primary key, method, replication key, parent, default mode, history")
	asJSON := fs.Bool("json", false, "print JSON: everything --wide shows, plus sources, children, columns and descriptions")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *wide && *asJSON:
		return usagef("--wide and --json cannot be combined")
	case *asJSON:
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reportDetails())
	case *wide:
		return printReportsWide(e.stdout)
	}
	return printReportsCompact(e.stdout)
}

// printReportsCompact prints one line per report that fits reportsWidth:
// its name (also its table's), how it syncs and what it reads.
func printReportsCompact(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tSYNC\tREADS")
	for _, r := range extract.Catalog() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, syncSummary(r), readsSummary(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, line := range strings.SplitAfter(b.String(), "\n") {
		if len(line) > reportsWidth+1 { // +1: the newline
			line = line[:reportsWidth-3] + "...\n"
		}
		if _, err := io.WriteString(w, line); err != nil {
			return err
		}
	}
	_, err := fmt.Fprint(w, "\nSYNC: by <key> reads what changed since the bookmark on that key (incremental); full reads\n"+
		"the whole list every run; child is the rows of an array of the parent's records.\n"+
		"Each report writes the table of its name in the data schema (close.<report> by default).\n"+
		"--wide adds endpoints, keys, parents, write modes and history; --json has everything.\n")
	return err
}

// syncSummary says how a report syncs, short: "by date_updated"
// (incremental on that replication key), "full" or "child".
func syncSummary(r *extract.Report) string {
	if k := r.ReplicationKey(); k != "" {
		return "by " + k
	}
	return string(r.Method)
}

// readsSummary is what a report reads, short: its endpoint (the first of
// several, with how many more), or for a child table the parent's array
// ("leads.addresses[]").
func readsSummary(r *extract.Report) string {
	if r.Parent != "" {
		if p, ok := extract.Lookup(r.Parent); ok {
			for _, ch := range p.Table.Children {
				if ch.Table.Name == r.Name {
					return r.Parent + "." + ch.Field + "[]"
				}
			}
		}
		return r.Parent
	}
	if len(r.Sources) == 0 {
		return "-"
	}
	s := sourceString(r.Sources[0])
	if n := len(r.Sources) - 1; n > 0 {
		s += fmt.Sprintf(" and %d more", n)
	}
	return s
}

// sourceString is a source's path and parameters, unescaped for reading.
func sourceString(s extract.Source) string {
	if len(s.Params) == 0 {
		return s.Path
	}
	q := s.Params.Encode()
	if u, err := url.QueryUnescape(q); err == nil {
		q = u
	}
	return s.Path + "?" + q
}

// printReportsWide prints every catalog column, one report a line.
func printReportsWide(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tENDPOINT\tPRIMARY KEY\tMETHOD\tREPLICATION KEY\tPARENT\tMODE\tHISTORY")
	for _, r := range extract.Infos() {
		history := "-"
		if r.History {
			history = "versions"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Endpoint), strings.Join(r.PrimaryKey, ", "), r.Method,
			dash(r.ReplicationKey), dash(r.Parent), r.DefaultMode, history)
	}
	return tw.Flush()
}

// reportDetail is a report as --json prints it: the catalog's Info with
// its table, sources and columns.
type reportDetail struct {
	extract.Info
	Table   string         `json:"table"`
	Sync    string         `json:"sync"`
	Sources []string       `json:"sources,omitempty"`
	Columns []columnDetail `json:"columns"`
}

type columnDetail struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// Path is the JSON key the column is read from, when not its name.
	Path string `json:"path,omitempty"`
}

func reportDetails() []reportDetail {
	infos := extract.Infos()
	out := make([]reportDetail, 0, len(infos))
	for i, r := range extract.Catalog() {
		d := reportDetail{Info: infos[i], Table: r.Table.Name, Sync: syncSummary(r), Columns: []columnDetail{}}
		for _, s := range r.Sources {
			d.Sources = append(d.Sources, sourceString(s))
		}
		for _, c := range r.Table.Columns {
			cd := columnDetail{Name: c.Name, Type: c.Type.String()}
			if c.Path != "" && c.Path != c.Name {
				cd.Path = c.Path
			}
			d.Columns = append(d.Columns, cd)
		}
		out = append(out, d)
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
