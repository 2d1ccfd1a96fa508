package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"
)

// CredentialsDirEnv is the variable systemd sets to the directory of the
// credentials of LoadCredential=; a relative api_key_file is read from it.
const CredentialsDirEnv = "CREDENTIALS_DIRECTORY"

// ResolveKey returns the account's API key, trimmed of surrounding
// whitespace, from its one configured source. Errors name the account and
// the source (the variable, the file), never the key.
func (a Account) ResolveKey() (string, error) {
	key, field, err := a.resolveKey()
	if err != nil {
		if field != "" {
			return "", fmt.Errorf("account %q: %s: %w", a.Name, field, err)
		}
		return "", fmt.Errorf("account %q: %w", a.Name, err)
	}
	return key, nil
}

// KeyFilePath is the file api_key_file names: a relative name is in
// $CREDENTIALS_DIRECTORY when that is set, else relative to the config
// file's directory (for an Account that Load did not make, the working
// directory).
func (a Account) KeyFilePath() string { return a.credentialPath(a.APIKeyFile) }

// credentialPath is where the credential file name is read from, as
// KeyFilePath says.
func (a Account) credentialPath(name string) string {
	if name == "" || filepath.IsAbs(name) {
		return name
	}
	if dir := os.Getenv(CredentialsDirEnv); dir != "" {
		return filepath.Join(dir, name)
	}
	if a.baseDir != "" {
		return filepath.Join(a.baseDir, name)
	}
	return name
}

// credentialWhere names the file of credentialPath(name) for an error.
func (a Account) credentialWhere(name string) string {
	path := a.credentialPath(name)
	if path == name {
		return path
	}
	in := "$" + CredentialsDirEnv
	if os.Getenv(CredentialsDirEnv) == "" {
		in = "the config file's directory"
	}
	return fmt.Sprintf("%s (%s in %s)", path, name, in)
}

// readCredential reads the credential file name (credentialPath), trimmed
// of surrounding white space; a file that cannot be read is unavailable.
func (a Account) readCredential(name string) (string, error) {
	b, err := os.ReadFile(a.credentialPath(name))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", unavailableError{fmt.Errorf("cannot read %s: %w", a.credentialWhere(name), err)}
	}
	return strings.TrimSpace(string(b)), nil
}

// MinSaltLength is the shortest hash salt taken: a short salt lets anyone
// who guesses it test candidate values against the hashes.
const MinSaltLength = 16

// HashesWith reports whether the account names a hash salt.
func (a Account) HashesWith() bool { return a.HashSaltEnv != "" || a.HashSaltFile != "" }

// ResolveSalt reads the account's hash salt from hash_salt_env or
// hash_salt_file, trimmed of surrounding white space. Errors name the
// account and the source, never the salt.
func (a Account) ResolveSalt() ([]byte, error) {
	salt, field, err := a.resolveSalt()
	if err != nil {
		return nil, fmt.Errorf("account %q: %s: %w", a.Name, field, err)
	}
	return salt, nil
}

func (a Account) resolveSalt() (salt []byte, field string, err error) {
	var text string
	switch {
	case a.HashSaltEnv != "" && a.HashSaltFile != "":
		return nil, "hash_salt_env", errors.New("and hash_salt_file are both set: set one")
	case a.HashSaltEnv != "":
		field = "hash_salt_env"
		if !envNameRE.MatchString(a.HashSaltEnv) {
			return nil, field, errors.New("is not an environment variable name (letters, digits and _, not starting with a digit)")
		}
		text = strings.TrimSpace(os.Getenv(a.HashSaltEnv))
		if text == "" {
			return nil, field, unavailableError{fmt.Errorf("environment variable %s is not set or empty", a.HashSaltEnv)}
		}
	case a.HashSaltFile != "":
		field = "hash_salt_file"
		var err error
		if text, err = a.readCredential(a.HashSaltFile); err != nil {
			return nil, field, err
		}
	default:
		return nil, "hash_salt_env", errors.New("no hash salt: set hash_salt_env or hash_salt_file (e.g. a file holding the output of openssl rand -hex 32)")
	}
	if len(text) < MinSaltLength {
		return nil, field, fmt.Errorf("the salt has %d characters: use at least %d (e.g. openssl rand -hex 32)", len(text), MinSaltLength)
	}
	return []byte(text), field, nil
}

// unavailableError marks a key source that is well formed but cannot be read
// now: the variable is unset or empty, the file is missing or unreadable.
type unavailableError struct{ error }

func (e unavailableError) Unwrap() error { return e.error }

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolveKey reads the key; on error, field is the key the problem is
// about ("" for the choice of source) and the error never holds the key.
func (a Account) resolveKey() (key, field string, err error) {
	var sources []string
	if a.APIKey != "" {
		sources = append(sources, "api_key")
	}
	if a.APIKeyEnv != "" {
		sources = append(sources, "api_key_env")
	}
	if a.APIKeyFile != "" {
		sources = append(sources, "api_key_file")
	}
	switch len(sources) {
	case 0:
		return "", "", errors.New("no API key source: set api_key, api_key_env or api_key_file")
	case 1:
	default:
		return "", "", fmt.Errorf("several API key sources (%s): set exactly one", strings.Join(sources, ", "))
	}
	switch sources[0] {
	case "api_key":
		key = strings.TrimSpace(string(a.APIKey))
		if key == "" {
			return "", "api_key", errors.New("is blank")
		}
		if err := checkKeyChars(key, "the key"); err != nil {
			return "", "api_key", err
		}
		return key, "", nil
	case "api_key_env":
		name := a.APIKeyEnv
		if looksLikeKey(name) {
			// Do not echo it: it is probably the key itself.
			return "", "api_key_env", errors.New("looks like an API key, not the name of an environment variable: " +
				"put the key in a variable (or a file) and name that here")
		}
		if !envNameRE.MatchString(name) {
			return "", "api_key_env", errors.New("is not an environment variable name (letters, digits and _, not starting with a digit)")
		}
		key = strings.TrimSpace(os.Getenv(name))
		if key == "" {
			return "", "api_key_env", unavailableError{fmt.Errorf("environment variable %s is not set or empty", name)}
		}
		if err := checkKeyChars(key, "environment variable "+name); err != nil {
			return "", "api_key_env", err
		}
		return key, "", nil
	default:
		where := a.credentialWhere(a.APIKeyFile)
		key, err := a.readCredential(a.APIKeyFile)
		if err != nil {
			return "", "api_key_file", err
		}
		if key == "" {
			return "", "api_key_file", fmt.Errorf("%s is empty", where)
		}
		if err := checkKeyChars(key, where); err != nil {
			return "", "api_key_file", err
		}
		return key, "", nil
	}
}

// checkKeyChars refuses a key with spaces or control characters inside: no
// Close key has them, and a file holding "KEY=... more" would otherwise be
// sent as the key and fail with an opaque 401.
func checkKeyChars(key, where string) error {
	if strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return fmt.Errorf("%s contains spaces, line breaks or control characters: it must hold only the key", where)
	}
	return nil
}

// looksLikeKey tells whether an api_key_env value is more likely a Close
// API key ("api_" and a long run of letters and digits) than a variable.
func looksLikeKey(s string) bool {
	if !strings.HasPrefix(s, "api_") || len(s) < 20 {
		return false
	}
	return strings.ContainsFunc(s, unicode.IsDigit) || strings.Contains(s, ".")
}
