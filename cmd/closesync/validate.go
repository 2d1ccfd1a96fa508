package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"

	"github.com/closesync/closesync/internal/accounts"
	"github.com/closesync/closesync/pkg/bytesize"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/config"
	"github.com/closesync/closesync/pkg/load"
	"github.com/closesync/closesync/pkg/preflight"
	"github.com/closesync/closesync/pkg/schedule"
)

func cmdValidate(ctx context.Context, args []string, e *env) error {
	fs := newFlags("validate", "--config FILE [--check] [--credentials-dir DIR]", e)
	cfgPath := fs.String("config", "", "config file (YAML)")
	check := fs.Bool("check", false, "also call Close: whose key each account has, whether its user is an admin, which reports it cannot read")
	credentialsDirFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Offline, a key that cannot be read is a warning; --check needs it.
	// The database's directory must exist and be writable.
	cfg, err := loadConfigFor(*cfgPath, config.Needs{Keys: *check, Database: true})
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stdout, "warning: %s\n", w)
	}
	printExpansions(e.stdout, cfg.Expansions())
	if *check {
		cs, err := accounts.New(cfg, closeapi.NewBudgets(), zap.NewNop(), nil)
		if err != nil {
			return err
		}
		jobs, err := schedule.Jobs(cfg, nil, nil)
		if err != nil {
			return err
		}
		if err := preflight.Check(ctx, e.stdout, cfg.Accounts, jobs, cs.Client); err != nil {
			return err // a refusal is a usage error (exit 2)
		}
	}
	for _, a := range cfg.Accounts {
		if a.ExportAbove > 0 {
			fmt.Fprintf(e.stdout, "account %s: a first sync or --full-refresh of leads or opportunities above %d records reads Close's Export API (export_above)\n",
				a.Name, a.ExportAbove)
		}
	}
	if p := cfg.Publish; p.Parquet != "" {
		what := "every table"
		if p.Views {
			what += " and view"
		}
		fmt.Fprintf(e.stdout, "publish: %s of schema %s is written as Parquet into %s after every run that succeeds, partitioned by month above %d rows (publish.parquet)\n",
			what, cfg.Schema, p.Parquet, p.PartitionAbove)
	}
	if w := cfg.Webhooks; w.Listen != "" {
		fmt.Fprintf(e.stdout, "webhooks: closesync run subscribes each account to Close's webhooks, delivered to %s/<account> and received at %s\n",
			strings.TrimSuffix(w.PublicURL, "/"), w.Listen)
	}
	for _, j := range cfg.Jobs {
		var filtered []string
		for _, r := range j.Reports {
			if cfg.FiltersNulls(j, r) {
				filtered = append(filtered, r.Name)
			}
		}
		if len(filtered) > 0 {
			fmt.Fprintf(e.stdout, "jobs %s: %s store _raw without null-valued keys (filter_nulls)\n", j.Name, strings.Join(filtered, ", "))
		}
		var kept []string
		for _, r := range j.Reports {
			if schedule.KeepsHistory(r) {
				kept = append(kept, r.Name)
			}
		}
		if len(kept) > 0 {
			fmt.Fprintf(e.stdout, "jobs %s: %s keep every version in <table>_versions (history)\n", j.Name, strings.Join(kept, ", "))
		}
		for _, r := range j.Reports {
			var does []string
			if len(r.Hash) > 0 {
				does = append(does, "hashes "+strings.Join(r.Hash, ", "))
			}
			if len(r.Exclude) > 0 {
				does = append(does, "excludes "+strings.Join(r.Exclude, ", "))
			}
			if len(does) > 0 {
				fmt.Fprintf(e.stdout, "jobs %s: %s %s (privacy)\n", j.Name, r.Name, strings.Join(does, "; "))
			}
		}
	}
	n := schedule.TablesWritten(cfg)
	if cfg.DuckDB.MemoryLimit == "" {
		fmt.Fprintf(e.stdout, "duckdb: memory_limit %s, the default for the %d tables the jobs write (duckdb.memory_limit)\n", load.MemoryLimitFor(n), n)
	} else if set, _ := bytesize.Parse(cfg.DuckDB.MemoryLimit); set > 0 {
		if want, _ := bytesize.Parse(load.MemoryLimitFor(n)); set < want {
			fmt.Fprintf(e.stdout, "warning: duckdb.memory_limit: %s is below %s, the default for the %d tables the jobs write: each table's primary-key index stays in memory, so runs may fail out of memory\n",
				cfg.DuckDB.MemoryLimit, load.MemoryLimitFor(n), n)
		}
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d accounts, %d jobs)\n", *cfgPath, len(cfg.Accounts), len(cfg.Jobs))
	return nil
}

// printExpansions says what each report pattern of the jobs stands for,
// one line each: jobs core: activities_* is 13 reports: activities, ...
func printExpansions(w io.Writer, exps []config.ReportExpansion) {
	for _, x := range exps {
		switch len(x.Reports) {
		case 0:
			fmt.Fprintf(w, "jobs %s: %s adds no report (the job lists each it matches already)\n", x.Job, x.Pattern)
		case 1:
			fmt.Fprintf(w, "jobs %s: %s is 1 report: %s\n", x.Job, x.Pattern, x.Reports[0])
		default:
			fmt.Fprintf(w, "jobs %s: %s is %d reports: %s\n", x.Job, x.Pattern, len(x.Reports), strings.Join(x.Reports, ", "))
		}
	}
}
