package systemd

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/coreos/go-systemd/v22/journal"
	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// JournalStream reports whether w is the stream journald gave the process
// ($JOURNAL_STREAM holds its device and inode, as systemd sets it for
// StandardError=journal): a pipe or file that merely inherited the variable
// does not count.
func JournalStream(w io.Writer, getenv func(string) string) bool {
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
	return uint64(st.Dev) == dev && st.Ino == ino //nolint:unconvert // Stat_t.Dev is not a uint64 on every platform
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

// JournalEncoder prefixes every line of an entry with its priority, "<3>"
// for an error (sd-daemon(3)'s SD_ERR), which journald's stream transport
// parses off (SyslogLevelPrefix=yes, the default): journalctl -p err then
// shows errors.
type JournalEncoder struct{ zapcore.Encoder }

var journalBuffers = buffer.NewPool()

// Clone implements zapcore.Encoder.
func (e JournalEncoder) Clone() zapcore.Encoder { return JournalEncoder{e.Encoder.Clone()} }

// EncodeEntry implements zapcore.Encoder: each line of the entry gets the
// journal priority prefix of its level.
func (e JournalEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	buf, err := e.Encoder.EncodeEntry(ent, fields)
	if err != nil {
		return nil, err
	}
	out := journalBuffers.Get()
	out.AppendString(PrefixLines(buf.String(), journalPriority(ent.Level)))
	buf.Free()
	return out, nil
}

// PrefixLines puts "<p>" before every line of s (a multi-line message is
// one journal entry per line, each of which needs the priority).
func PrefixLines(s string, p journal.Priority) string {
	prefix := fmt.Sprintf("<%d>", p)
	body, nl := strings.CutSuffix(s, "\n")
	out := prefix + strings.ReplaceAll(body, "\n", "\n"+prefix)
	if nl {
		out += "\n"
	}
	return out
}

// Notify tells systemd about a state change (daemon.SdNotifyReady, ...,
// "STATUS=..."); without NOTIFY_SOCKET it does nothing.
func Notify(log *zap.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("sd_notify", zap.String("state", state), zap.Error(fmt.Errorf("%w", err)))
	}
}

// Watchdog is the channel of the watchdog pings when the unit sets
// WatchdogSec= (a tick at half the interval), nil otherwise; stop releases
// its ticker.
func Watchdog(log *zap.Logger) (ping <-chan time.Time, stop func()) {
	iv, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		log.Warn("watchdog settings unreadable", zap.Error(err))
		return nil, func() {}
	}
	if iv <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(iv / 2)
	log.Info("systemd watchdog enabled", zap.Duration("interval", iv))
	return t.C, t.Stop
}
