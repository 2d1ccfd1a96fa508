package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/closesync/closesync/internal/systemd"
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

// stderrLine prints a command's error to stderr; on journald's stream each
// line carries the error priority.
func stderrLine(e *env, format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if systemd.JournalStream(e.stderr, e.getenv) {
		s = systemd.PrefixLines(s, journal.PriErr)
	}
	_, _ = io.WriteString(e.stderr, s) // stderr is the last resort: nowhere to report a failed write
}
