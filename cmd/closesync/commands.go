package main

import "context"

// command is one subcommand with the text its help shows.
type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env *env) error
	// examples are command lines, each shown after "  $ ", with an
	// optional "  # comment".
	examples []string
	// env lists the environment variables the command reads.
	env []envVar
}

// envVar is an environment variable as help describes it.
type envVar struct{ name, about string }

// The environment variables closesync reads (besides systemd's
// JOURNAL_STREAM and NOTIFY_SOCKET, which the unit sets).
var (
	envOverride = envVar{"CLOSESYNC_<KEY>", "overrides a config key, with __ between levels: CLOSESYNC_DATABASE=/data/crm.duckdb, " +
		"CLOSESYNC_LOG__LEVEL=debug, CLOSESYNC_ACCOUNTS__0__API_KEY_FILE=/run/secrets/close (empty: ignored)"}
	envAPIKey = envVar{"<api_key_env>", "an account's API key, in the variable its api_key_env names (e.g. CLOSE_API_KEY)"}
	envCreds  = envVar{"CREDENTIALS_DIRECTORY", "where a relative api_key_file is looked up first (systemd's LoadCredential= sets it)"}
)

// commands returns every subcommand, in the order help lists them. It is a
// function, not a variable, because the commands' own help reads it.
func commands() []command {
	keyed := []envVar{envOverride, envAPIKey, envCreds}
	return []command{
		{name: "run", summary: "run the daemon: every job on its schedule until SIGTERM; SIGHUP reloads", run: cmdRun,
			examples: []string{"closesync run --config /etc/closesync/config.yaml", "systemctl reload closesync  # SIGHUP: re-read the config"},
			env:      keyed},
		{name: "sync", summary: "run jobs or reports now, in the foreground, then exit", run: cmdSync,
			examples: []string{
				"closesync sync --config closesync.yaml",
				"closesync sync --config closesync.yaml --job core --report leads --report opportunities",
				"closesync sync --config closesync.yaml --dry-run",
				"closesync sync --config closesync.yaml --report opportunities --since 2026-01-01",
			},
			env: keyed},
		{name: "verify", summary: "compare each report's live rows with Close's own count; exit 1 on a difference", run: cmdVerify,
			examples: []string{"closesync verify --config closesync.yaml", "closesync verify --config closesync.yaml --job hourly --report 'activities_*'"},
			env:      keyed},
		{name: "reset", summary: "forget a report's bookmark (--drop: and its rows), so the next sync re-reads it", run: cmdReset,
			examples: []string{"closesync reset --config closesync.yaml --report leads", "closesync reset --config closesync.yaml --report activities --drop"},
			env:      []envVar{envOverride}},
		{name: "compact", summary: "copy the database into a new file to give its free blocks back to the disk", run: cmdCompact,
			examples: []string{"closesync compact --config closesync.yaml"},
			env:      []envVar{envOverride}},
		{name: "publish", summary: "write the database into publish.parquet now, as the runs do after they succeed", run: cmdPublish,
			examples: []string{"closesync publish --config closesync.yaml"},
			env:      []envVar{envOverride}},
		{name: "validate", summary: "check a config file offline (--check also calls Close)", run: cmdValidate,
			examples: []string{"closesync validate --config closesync.yaml",
				"closesync validate --config closesync.yaml --check  # also ask Close about each key",
				"closesync validate --config config.yaml --credentials-dir /etc/closesync/credentials"},
			env: keyed},
		{name: "webhooks", summary: "webhooks remove: delete the Close webhook subscriptions closesync run made", run: cmdWebhooks,
			examples: []string{"closesync webhooks remove --config /etc/closesync/config.yaml"},
			env:      keyed},
		{name: "reports", summary: "list the report catalog (--wide: endpoints and keys, --json: everything)", run: cmdReports,
			examples: []string{"closesync reports", "closesync reports --wide", "closesync reports --json | jq -r '.[] | select(.parent == null) | .name'"}},
		{name: "history", summary: "show recent runs from the run-history table", run: cmdHistory,
			examples: []string{"closesync history --config closesync.yaml", "closesync history --config closesync.yaml --limit 100 --json"},
			env:      []envVar{envOverride}},
		{name: "demo", summary: "sync the built-in fake Close into a local DuckDB file and show what landed", run: cmdDemo,
			examples: []string{"closesync demo", "closesync demo --dir /tmp/demo --scale 2000"}},
		{name: "version", summary: "print the version, commit, Go and DuckDB versions (also --version)", run: cmdVersion,
			examples: []string{"closesync version", "closesync version --json"}},
		{name: "help", summary: "show this help, or a command's ('closesync help sync')", run: cmdHelp,
			examples: []string{"closesync help", "closesync help sync"}},
	}
}

// lookupCommand finds a command by name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// commandNames are the commands' names, in help's order.
func commandNames() []string {
	var names []string
	for _, c := range commands() {
		names = append(names, c.name)
	}
	return names
}
