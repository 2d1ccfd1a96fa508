// Package logging builds closesync's zap logger: console for a person at a
// terminal, JSON for journald and files, with journald's priority prefixes
// on its stream.
package logging

import (
	"fmt"
	"io"
	"math"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"

	"github.com/closesync/closesync/internal/systemd"
)

// New builds the process logger, writing to w: console on a terminal or when the
// config says so, JSON (for journald) otherwise. On journald's stream
// ($JOURNAL_STREAM) each line carries its syslog priority prefix.
func New(level, format string, w io.Writer, getenv func(string) string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var enc zapcore.Encoder
	if format == "auto" || format == "" {
		// Console for a person at a terminal; JSON for journald and files.
		format = "json"
		if IsTerminal(w) {
			format = "console"
		}
	}
	if format == "json" {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	} else {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("2006-01-02T15:04:05.000Z07:00")
		if IsTerminal(w) {
			ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(ec)
	}
	if systemd.JournalStream(w, getenv) {
		enc = systemd.JournalEncoder{Encoder: enc}
	}
	// Locked: reports run concurrently, and w need not be safe for
	// concurrent writes (a pipe or a buffer, unlike an *os.File).
	return zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), zap.NewAtomicLevelAt(lvl))), nil
}

// IsTerminal reports whether w is a terminal: a file (or a Routed on one)
// whose descriptor is a terminal, as isatty says. /dev/null is a character
// device too, and no terminal.
func IsTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	fd := f.Fd()
	return fd <= math.MaxInt32 && term.IsTerminal(int(fd))
}
