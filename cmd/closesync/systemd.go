package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/coreos/go-systemd/v22/journal"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"

	"github.com/closesync/closesync/pkg/config"
)

// credentialsDirFlag adds --credentials-dir to fs: the directory whose files
// systemd's LoadCredential= copies into $CREDENTIALS_DIRECTORY, so that a
// relative api_key_file is read as the unit will read it
// (`validate --credentials-dir /etc/closesync/credentials`). It sets
// $CREDENTIALS_DIRECTORY for this process when the flag is parsed.
func credentialsDirFlag(fs *flag.FlagSet) {
	fs.Func("credentials-dir", "read relative api_key_file paths from `DIR`, as the systemd unit reads them from\n"+
		"$CREDENTIALS_DIRECTORY (/etc/closesync/credentials: the LoadCredential= sources)", func(dir string) error {
		return os.Setenv(config.CredentialsDirEnv, dir)
	})
}

// journalStream reports whether w is the stream journald gave the process
// ($JOURNAL_STREAM holds its device and inode, as systemd sets it for
// StandardError=journal): a pipe or file that merely inherited the variable
// does not count.
func journalStream(w io.Writer, getenv func(string) string) bool {
	v := getenv("JOURNAL_STREAM")
	f, ok := w.(*os.File)
	if v == "" || !ok {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(v, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return uint64(st.Dev) == dev && st.Ino == ino
}

// journalPriority is the syslog priority journald gives a line of a level.
func journalPriority(l zapcore.Level) journal.Priority {
	switch {
	case l <= zapcore.DebugLevel:
		return journal.PriDebug
	case l == zapcore.InfoLevel:
		return journal.PriInfo
	case l == zapcore.WarnLevel:
		return journal.PriWarning
	case l == zapcore.ErrorLevel:
		return journal.PriErr
	default: // DPanic, Panic, Fatal
		return journal.PriCrit
	}
}

// journalEncoder prefixes every line of an entry with its priority, "<3>"
// for an error (sd-daemon(3)'s SD_ERR), which journald's stream transport
// parses off (SyslogLevelPrefix=yes, the default): journalctl -p err then
// shows errors.
type journalEncoder struct{ zapcore.Encoder }

var journalBuffers = buffer.NewPool()

func (e journalEncoder) Clone() zapcore.Encoder { return journalEncoder{e.Encoder.Clone()} }

func (e journalEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return nil, err
	}
	out := journalBuffers.Get()
	out.AppendString(prefixLines(buf.String(), journalPriority(ent.Level)))
	buf.Free()
	return out, nil
}

// prefixLines puts "<p>" before every line of s (a multi-line message is
// one journal entry per line, each of which needs the priority).
func prefixLines(s string, p journal.Priority) string {
	prefix := fmt.Sprintf("<%d>", p)
	body, nl := strings.CutSuffix(s, "\n")
	out := prefix + strings.ReplaceAll(body, "\n", "\n"+prefix)
	if nl {
		out += "\n"
	}
	return out
}

// stderrLine prints a command's error to stderr; on journald's stream each
// line carries the error priority.
func stderrLine(e *env, format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if journalStream(e.stderr, e.getenv) {
		s = prefixLines(s, journal.PriErr)
	}
	io.WriteString(e.stderr, s)
}
