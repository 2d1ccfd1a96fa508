package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/closesync/closesync/pkg/config"
)

// errHelp is returned after --help printed a command's usage.
var errHelp = errors.New("help requested")

// newFlags makes a subcommand's flag set that reports errors instead of
// exiting, and prints the command's help (synopsis usage, flags as
// --name, examples, environment) to stdout on --help. The flag package
// parses: it accepts -name and --name alike.
func newFlags(name, usage string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("closesync "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, _ := lookupCommand(name)
	c.name = name
	fs.Usage = func() { printCommandHelp(e.stdout, c, usage, fs) }
	return fs
}

// parseFlags parses args, turning --help into errHelp and other problems
// into usage errors that name the flag as --name, with a did-you-mean for
// an unknown one. Positional arguments are refused.
func parseFlags(fs *flag.FlagSet, args []string) error {
	// The flag package calls Usage on every error too: print the help
	// only when it was asked for.
	help := fs.Usage
	fs.Usage = func() {}
	err := fs.Parse(args)
	fs.Usage = help
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help()
			return errHelp
		}
		return usageError{fmt.Errorf("%s; see '%s --help'", flagMessage(fs, err.Error()), fs.Name())}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q; see '%s --help'", fs.Arg(0), fs.Name())
	}
	return nil
}

// The flag package's error messages that name a flag as -name.
const (
	undefinedPrefix = "flag provided but not defined: -"
	needsArgPrefix  = "flag needs an argument: -"
)

// flagMessage rewords the flag package's error msg: "unknown flag --confg
// (did you mean --config?)", and --name wherever it wrote -name.
func flagMessage(fs *flag.FlagSet, msg string) string {
	if name, ok := strings.CutPrefix(msg, undefinedPrefix); ok {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
		out := "unknown flag --" + name
		if near := config.Closest(name, names); len(near) > 0 {
			for i := range near {
				near[i] = "--" + near[i]
			}
			out += " (did you mean " + strings.Join(near, " or ") + "?)"
		}
		return out
	}
	if name, ok := strings.CutPrefix(msg, needsArgPrefix); ok {
		return "flag --" + name + " needs a value"
	}
	// invalid value "x" for flag -limit: ...; invalid boolean value "x" for -json: ...
	fs.VisitAll(func(f *flag.Flag) {
		for _, form := range []string{" for flag -", " for -"} {
			msg = strings.Replace(msg, form+f.Name+":", form+"-"+f.Name+":", 1)
		}
	})
	return msg
}

// multiFlag collects a repeatable flag; comma-separated values are split.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*m = append(*m, p)
		}
	}
	return nil
}
