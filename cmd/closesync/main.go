// Command closesync copies a Close CRM organisation into a local DuckDB
// database and keeps it current. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/closesync/closesync/pkg/schedule"
)

// Exit codes (DESIGN.md).
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// usageError marks a bad command line or config: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// errFailed reports that the command ran but some of its work failed; the
// details have already been printed.
var errFailed = errors.New("some runs failed")

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env *env) error
}

var commands = []command{
	{"run", "run the daemon: every job on its schedule until SIGTERM; SIGHUP reloads", cmdRun},
	{"sync", "run jobs or reports now, in the foreground, then exit", cmdSync},
	{"reset", "forget a report's bookmark (--drop: and its rows), so the next sync re-reads it", cmdReset},
	{"compact", "copy the database into a new file to give its free blocks back to the disk", cmdCompact},
	{"validate", "check a config file offline (--check also calls Close)", cmdValidate},
	{"reports", "list the report catalog", cmdReports},
	{"history", "show recent runs from the run-history table", cmdHistory},
	{"demo", "sync the built-in fake Close into a local DuckDB file and show what landed", cmdDemo},
}

// env is what a command may touch of the process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its error to an exit code, so that
// every deferred cleanup runs before the process exits.
func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], e)
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, errHelp):
			return exitOK
		case errors.As(err, &ue), errors.Is(err, schedule.ErrUsage):
			stderrLine(e, "closesync %s: %v\n", c.name, err)
			return exitUsage
		case errors.Is(err, errFailed):
			return exitFailed
		default:
			stderrLine(e, "closesync %s: %v\n", c.name, err)
			return exitFailed
		}
	}
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	sort.Strings(names)
	fmt.Fprintf(e.stderr, "closesync: unknown command %q (commands: %s)\n", args[0], strings.Join(names, ", "))
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "closesync copies a Close CRM organisation into a local DuckDB database.")
	fmt.Fprintln(w, "\nUsage: closesync <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'closesync <command> --help' for a command's flags.")
}
