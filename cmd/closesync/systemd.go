package main

import (
	"flag"
	"os"

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
