// Package config loads closesync's YAML configuration with koanf, applies
// defaults and environment overrides, and validates it, reporting every
// problem at once with its key path.
//
// Environment overrides use the prefix CLOSESYNC_ and a double underscore
// between nesting levels (a single underscore stays part of a key):
// CLOSESYNC_DATABASE=/var/lib/closesync/crm.duckdb, CLOSESYNC_LOG__LEVEL=debug,
// CLOSESYNC_HTTP__LISTEN=127.0.0.1:9464.
//
// API keys come from api_key, api_key_env or api_key_file and never appear
// in an error, a log line or the String of a Config.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"
)

// Defaults.
const (
	DefaultDatabase       = "./closesync.duckdb"
	DefaultSchema         = "close"
	DefaultBaseURL        = "https://api.close.com/api/v1"
	DefaultMaxConcurrency = 4
	DefaultJobTimeout     = 6 * time.Hour
	envPrefix             = "CLOSESYNC_"
)

// Config is the whole configuration file.
type Config struct {
	Database string    `koanf:"database"`
	Schema   string    `koanf:"schema"`
	Log      Log       `koanf:"log"`
	HTTP     HTTP      `koanf:"http"`
	Accounts []Account `koanf:"accounts"`
	Jobs     []Job     `koanf:"jobs"`
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`  // debug | info | warn | error
	Format string `koanf:"format"` // console | json
}

// HTTP configures the optional status listener.
type HTTP struct {
	Listen string `koanf:"listen"`
}

// Account is one Close API key.
type Account struct {
	Name           string `koanf:"name"`
	APIKey         Secret `koanf:"api_key"`
	APIKeyEnv      string `koanf:"api_key_env"`
	APIKeyFile     string `koanf:"api_key_file"`
	BaseURL        string `koanf:"base_url"`
	MaxConcurrency int    `koanf:"max_concurrency"`
	OrganizationID string `koanf:"organization_id"`
}

// Job is a set of reports synced on one schedule with one account.
type Job struct {
	Name           string        `koanf:"name"`
	Account        string        `koanf:"account"`
	Schedule       string        `koanf:"schedule"`
	Timezone       string        `koanf:"timezone"`
	StartDate      Date          `koanf:"start_date"`
	Timeout        time.Duration `koanf:"timeout"`
	OrganizationID string        `koanf:"organization_id"`
	UserID         string        `koanf:"user_id"`
	Reports        []ReportRef   `koanf:"reports"`
}

// ReportRef is a report of a job: a bare name in YAML, or a map with options.
type ReportRef struct {
	Name              string        `koanf:"name"`
	Mode              string        `koanf:"mode"` // upsert | append | replace
	AttributionWindow time.Duration `koanf:"attribution_window"`
	Schedule          string        `koanf:"schedule"`
}

// Secret is a string that never prints.
type Secret string

const redacted = "<redacted>"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the key.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// MarshalText keeps encoders from printing the key.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Date is a calendar date or date-time from YAML: an unquoted date (which
// the YAML parser turns into a timestamp), a quoted "2024-01-01" or an RFC
// 3339 date-time. The zero value means unset.
type Date struct{ time.Time }

var dateLayouts = []string{"2006-01-02", time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// ParseDate parses the forms Date accepts; times without a zone are UTC.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return Date{t.UTC()}, nil
		}
	}
	return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or an RFC 3339 date-time)", s)
}

// Load reads the YAML file at path, applies environment overrides and
// defaults, and decodes it strictly: an unknown key is an error naming it.
// It does not validate; call Validate.
func Load(path string) (*Config, error) {
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := k.Load(env.Provider(".", env.Opt{
		Prefix: envPrefix,
		TransformFunc: func(key, value string) (string, any) {
			key = strings.ToLower(strings.TrimPrefix(key, envPrefix))
			return strings.ReplaceAll(key, "__", "."), value
		},
	}), nil); err != nil {
		return nil, fmt.Errorf("read environment overrides: %w", err)
	}
	cfg := &Config{}
	dc := &mapstructure.DecoderConfig{
		Result:           cfg,
		TagName:          "koanf",
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			reportRefHook, dateHook, mapstructure.StringToTimeDurationHookFunc()),
	}
	if err := k.UnmarshalWithConf("", cfg, koanf.UnmarshalConf{Tag: "koanf", DecoderConfig: dc}); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.applyDefaults()
	return cfg, nil
}

func (c *Config) applyDefaults() {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Schema == "" {
		c.Schema = DefaultSchema
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "console"
	}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		if a.BaseURL == "" {
			a.BaseURL = DefaultBaseURL
		}
		if a.MaxConcurrency == 0 {
			a.MaxConcurrency = DefaultMaxConcurrency
		}
	}
	for i := range c.Jobs {
		if c.Jobs[i].Timeout == 0 {
			c.Jobs[i].Timeout = DefaultJobTimeout
		}
	}
}

var (
	reportRefType = reflect.TypeOf(ReportRef{})
	dateType      = reflect.TypeOf(Date{})
	timeType      = reflect.TypeOf(time.Time{})
)

// reportRefHook lets a report be a bare name.
func reportRefHook(from, to reflect.Type, data any) (any, error) {
	if to == reportRefType && from.Kind() == reflect.String {
		return map[string]any{"name": data}, nil
	}
	return data, nil
}

// dateHook decodes Date from a YAML timestamp or a string.
func dateHook(from, to reflect.Type, data any) (any, error) {
	if to != dateType {
		return data, nil
	}
	switch v := data.(type) {
	case time.Time:
		return Date{v.UTC()}, nil
	case string:
		if v == "" {
			return Date{}, nil
		}
		return ParseDate(v)
	case nil:
		return Date{}, nil
	}
	if from == timeType {
		return Date{data.(time.Time)}, nil
	}
	return nil, fmt.Errorf("%v is not a date", data)
}

// ResolveKey returns the account's API key from its one configured source.
// A relative api_key_file is looked up in $CREDENTIALS_DIRECTORY (systemd
// LoadCredential=) when that is set. Errors name the source, never the key.
func (a Account) ResolveKey() (string, error) {
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
		return "", errors.New("no API key source: set api_key, api_key_env or api_key_file")
	case 1:
	default:
		return "", fmt.Errorf("several API key sources (%s): set exactly one", strings.Join(sources, ", "))
	}
	switch {
	case a.APIKey != "":
		return strings.TrimSpace(string(a.APIKey)), nil
	case a.APIKeyEnv != "":
		v := strings.TrimSpace(os.Getenv(a.APIKeyEnv))
		if v == "" {
			return "", fmt.Errorf("api_key_env: environment variable %s is not set or empty", a.APIKeyEnv)
		}
		return v, nil
	default:
		path := a.KeyFilePath()
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("api_key_file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("api_key_file: %s is empty", path)
		}
		return v, nil
	}
}

// KeyFilePath is where api_key_file is read from.
func (a Account) KeyFilePath() string {
	if a.APIKeyFile == "" || filepath.IsAbs(a.APIKeyFile) {
		return a.APIKeyFile
	}
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		return filepath.Join(dir, a.APIKeyFile)
	}
	return a.APIKeyFile
}
