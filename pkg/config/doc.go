// Package config loads closesync's YAML configuration, applies environment
// overrides and defaults, and validates it, reporting every problem at once
// with its key path.
//
// # Loading
//
// [Load] reads the file with koanf, applies the environment overrides, fills
// in the defaults of the keys that are absent and decodes strictly: an
// unknown key is an error naming its path (with a suggestion when a known key
// is close), and so is a value of the wrong type. Load does not validate;
// call [Config.Validate] with the report catalog, and show [Config.Warnings].
// [Check] does both in one pass: unknown keys, wrong types and bad values
// are reported together, each once.
//
// Defaults apply to absent keys only (a YAML null counts as absent), so an
// explicit value is always checked: `database: ""` is an error rather than
// the default file, `max_concurrency: 0` is out of range, and `timeout: 0`
// means no time limit.
//
// # Paths
//
// Relative database, snapshot, publish.parquet and api_key_file values are
// relative to the config file's directory (whatever set them, the file or a
// variable), not to the working directory; a relative api_key_file is first
// looked up in $CREDENTIALS_DIRECTORY when that is set. Load makes
// database, snapshot and publish.parquet absolute; [Account.KeyFilePath]
// resolves the key file when it is read.
//
// # Environment overrides
//
// A variable CLOSESYNC_<PATH> overrides the key at PATH: the key path in
// upper case, with a double underscore between nesting levels, while a single
// underscore stays part of a key. A list item is addressed by its index in the
// file:
//
//	CLOSESYNC_DATABASE=/var/lib/closesync/crm.duckdb    database
//	CLOSESYNC_LOG__LEVEL=debug                          log.level
//	CLOSESYNC_HTTP__LISTEN=127.0.0.1:9464               http.listen
//	CLOSESYNC_ACCOUNTS__0__API_KEY_FILE=close           accounts[0].api_key_file
//	CLOSESYNC_JOBS__1__TIMEOUT=2h                       jobs[1].timeout
//
// Overrides set single values: they cannot add list items or replace a whole
// list or section. A variable set to the empty string is ignored. A variable
// with the prefix that names no key is an error (CLOSESYNC_LOG_LEVEL is
// reported with the suggestion CLOSESYNC_LOG__LEVEL), and problems with an
// overridden value name the variable it came from.
//
// # API keys
//
// Each account takes its key from exactly one of api_key (inline, for quick
// tests), api_key_env (an environment variable) or api_key_file (a file; a
// relative path is read from $CREDENTIALS_DIRECTORY when systemd's
// LoadCredential= sets it). [Account.ResolveKey] reads it. A key never
// appears in an error, a warning or the printed form of a Config: [Secret]
// prints as "<redacted>".
package config
