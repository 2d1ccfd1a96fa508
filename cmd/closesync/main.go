// Command closesync copies a Close CRM organisation into a local DuckDB
// database and keeps it current. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/closesync/closesync/pkg/config"
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

// env is what a command may touch of the process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	ctx, stop := notifyContext(context.Background())
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its error to an exit code, so that
// every deferred cleanup runs before the process exits. No arguments is a
// usage error: the help goes to stderr.
func run(ctx context.Context, args []string, e *env) int {
	switch {
	case len(args) == 0:
		printUsage(e.stderr)
		return exitUsage
	case isHelpFlag(args[0]):
		printUsage(e.stdout)
		return exitOK
	case args[0] == "--version" || args[0] == "-version":
		args = append([]string{"version"}, args[1:]...)
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		stderrLine(e, "closesync: %v\n", unknownCommand(args[0]))
		return exitUsage
	}
	err := c.run(ctx, args[1:], e)
	var ue usageError
	if code, ok := interruptedCode(ctx, err); ok {
		return code
	}
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

// unknownCommand is the usage error for a command that does not exist,
// with the nearest command names, or all of them.
func unknownCommand(name string) error {
	if strings.HasPrefix(name, "-") {
		hint := ""
		if near := config.Closest(strings.TrimLeft(name, "-"), []string{"help", "version"}); len(near) > 0 {
			hint = " (did you mean --" + strings.Join(near, " or --") + "?)"
		}
		return usagef("unknown flag %s%s; a command's flags follow it: closesync <command> [flags] (see 'closesync help')", name, hint)
	}
	names := commandNames()
	if near := config.Closest(name, names); len(near) > 0 {
		return usagef("unknown command %q (did you mean %s?); see 'closesync help'", name, quoteOr(near))
	}
	return usagef("unknown command %q (commands: %s)", name, strings.Join(names, ", "))
}

// quoteOr quotes names and joins them with "or".
func quoteOr(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}
