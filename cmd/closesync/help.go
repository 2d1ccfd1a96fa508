package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// helpWidth is the width help text is wrapped to: a 100-column terminal.
const helpWidth = 100

// placeholders name the values of flags whose usage does not name one in
// backquotes, as the commands' synopses write them.
var placeholders = map[string]string{
	"config": "FILE", "job": "J", "report": "R", "since": "DATE", "until": "DATE",
	"limit": "N", "dir": "D", "scale": "N", "seed": "N",
}

// printUsage prints the top-level help: what closesync is, its commands
// with one line each, an example or two and the environment it reads.
func printUsage(w io.Writer) {
	fmt.Fprintln(w, "closesync copies a Close CRM organisation into a local DuckDB database and keeps it current.")
	fmt.Fprint(w, "\nUsage:\n  closesync <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		writeItem(w, c.name, c.summary, 10)
	}
	fmt.Fprint(w, "\nExamples:\n")
	for _, ex := range []string{
		"closesync demo  # the fake Close on loopback -> ./closesync-demo.duckdb",
		"closesync validate --config closesync.yaml --check",
		"closesync sync --config closesync.yaml",
		"closesync run --config closesync.yaml",
	} {
		fmt.Fprintf(w, "  $ %s\n", ex)
	}
	printEnv(w, []envVar{envOverride, envAPIKey, envCreds})
	fmt.Fprint(w, "\nRun 'closesync help <command>' (or 'closesync <command> --help') for a command's flags.\n"+
		"Exit codes: 0 success, 1 a run failed, 2 bad usage or config, 130 interrupted (Ctrl-C).\n")
}

// printCommandHelp prints a command's help: its summary, synopsis, flags,
// examples and environment.
func printCommandHelp(w io.Writer, c command, synopsis string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "closesync %s: %s\n\nUsage:\n", c.name, c.summary)
	for _, line := range wrapSynopsis("closesync "+c.name+" "+synopsis, helpWidth-2) {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprint(w, "\nFlags:\n")
	type item struct{ left, about string }
	var items []item
	fs.VisitAll(func(f *flag.Flag) {
		items = append(items, item{flagLeft(f), flagAbout(f)})
	})
	// --config first: most commands need it; then by name.
	slices.SortStableFunc(items, func(a, b item) int {
		if ac, bc := strings.HasPrefix(a.left, "--config "), strings.HasPrefix(b.left, "--config "); ac != bc {
			if ac {
				return -1
			}
			return 1
		}
		return strings.Compare(a.left, b.left)
	})
	items = append(items, item{"-h, --help", "show this help"})
	col := 0
	for _, it := range items {
		col = max(col, len(it.left))
	}
	col = min(col+2, 26)
	for _, it := range items {
		writeItem(w, it.left, it.about, col)
	}
	if len(c.examples) > 0 {
		fmt.Fprint(w, "\nExamples:\n")
		for _, ex := range c.examples {
			fmt.Fprintf(w, "  $ %s\n", ex)
		}
	}
	printEnv(w, c.env)
}

func printEnv(w io.Writer, vars []envVar) {
	if len(vars) == 0 {
		return
	}
	fmt.Fprint(w, "\nEnvironment:\n")
	col := 0
	for _, v := range vars {
		col = max(col, len(v.name))
	}
	for _, v := range vars {
		writeItem(w, v.name, v.about, col+2)
	}
}

// writeItem writes "  left  about", about wrapped to helpWidth in a column
// starting after left's (at least col wide); a left wider than col puts
// about on the lines below.
func writeItem(w io.Writer, left, about string, col int) {
	indent := 2 + col
	lines := wrap(about, helpWidth-indent)
	if len(left) > col-2 {
		fmt.Fprintf(w, "  %s\n", left)
	} else if len(lines) > 0 {
		fmt.Fprintf(w, "  %-*s%s\n", col, left, lines[0])
		lines = lines[1:]
	} else {
		fmt.Fprintf(w, "  %s\n", left)
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", indent), l)
	}
}

// flagLeft is a flag as help names it: "--config FILE", "--dry-run".
func flagLeft(f *flag.Flag) string {
	name, _ := flag.UnquoteUsage(f)
	if name == "" { // a bool flag
		return "--" + f.Name
	}
	if p, ok := placeholders[f.Name]; ok && !strings.Contains(f.Usage, "`") {
		name = p
	} else if !strings.Contains(f.Usage, "`") {
		name = strings.ToUpper(name)
	}
	return "--" + f.Name + " " + name
}

// flagAbout is a flag's usage with its default, when that is not the zero
// value.
func flagAbout(f *flag.Flag) string {
	_, usage := flag.UnquoteUsage(f)
	usage = strings.Join(strings.Fields(usage), " ")
	switch f.DefValue {
	case "", "0", "false", "[]":
	default:
		if typ, _ := flag.UnquoteUsage(f); typ == "string" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		} else {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
	}
	return usage
}

// wrap breaks text into lines of at most width columns at spaces (a word
// longer than width gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	var cur string
	for _, word := range strings.Fields(text) {
		switch {
		case cur == "":
			cur = word
		case len(cur)+1+len(word) <= width:
			cur += " " + word
		default:
			lines = append(lines, cur)
			cur = word
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// wrapSynopsis wraps a synopsis at spaces outside brackets, so that
// "[--until DATE]" stays whole; continuation lines are indented.
func wrapSynopsis(s string, width int) []string {
	var words []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '[':
			depth++
		case ']':
			depth--
		case ' ':
			if depth == 0 {
				words = append(words, s[start:i])
				start = i + 1
			}
		}
	}
	words = append(words, s[start:])
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case w == "":
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = "    " + w
		}
	}
	return append(lines, cur)
}

// cmdHelp prints the top-level help, or with a command's name its help.
func cmdHelp(ctx context.Context, args []string, e *env) error {
	switch {
	case len(args) == 0, len(args) == 1 && isHelpFlag(args[0]):
		printUsage(e.stdout)
		return nil
	case len(args) > 1:
		return usagef("help takes one command, not %d words", len(args))
	}
	c, ok := lookupCommand(args[0])
	if !ok {
		return unknownCommand(args[0])
	}
	if c.name == "help" {
		printUsage(e.stdout)
		return nil
	}
	return c.run(ctx, []string{"--help"}, e)
}

// isHelpFlag reports whether arg asks for help as the flag package
// understands it (-h, -help, --h, --help).
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "-help", "--h", "--help":
		return true
	}
	return false
}
