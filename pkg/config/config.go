package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/v2"

	"github.com/closesync/closesync/pkg/bytesize"
	"github.com/closesync/closesync/pkg/closeapi"
	"github.com/closesync/closesync/pkg/notify"
)

// Defaults of absent keys.
const (
	DefaultDatabase       = "./closesync.duckdb"
	DefaultSchema         = "close"
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "auto"
	DefaultBaseURL        = closeapi.DefaultBaseURL
	DefaultMaxConcurrency = closeapi.DefaultMaxConcurrency
	DefaultJobTimeout     = 6 * time.Hour
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "CLOSESYNC_"

// Config is the whole configuration file.
type Config struct {
	Database string    `koanf:"database"` // DuckDB file
	Schema   string    `koanf:"schema"`   // schema of the data tables
	Log      Log       `koanf:"log"`
	HTTP     HTTP      `koanf:"http"`
	Accounts []Account `koanf:"accounts"`
	Jobs     []Job     `koanf:"jobs"`
	// LockTimeout bounds a run's wait for a reader (a DuckDB CLI, a BI
	// tool) to release the database file; 0: the default (2m).
	LockTimeout time.Duration `koanf:"lock_timeout"`
	// StopGrace bounds how long `closesync run` waits, after SIGTERM, for
	// runs to stop at a batch boundary; 0: DefaultStopGrace.
	StopGrace time.Duration `koanf:"stop_grace"`
	// MinInterval is the shortest interval a schedule may have (@every, or
	// the gaps of a cron spec); 0: DefaultMinInterval (1m).
	MinInterval time.Duration `koanf:"min_interval"`
	// Snapshot, when set, is a file that receives a consistent copy of the
	// database after each run that wrote successfully, for tools that keep
	// a connection open (written to a temporary file, then renamed).
	Snapshot string `koanf:"snapshot"`
	// Publish writes the data schema as Parquet files for other engines
	// after each run that wrote successfully; off when Publish.Parquet is
	// empty (publish.go).
	Publish Publish `koanf:"publish"`
	// Notify posts run summaries to a webhook; off when Notify.URL is empty.
	Notify notify.Config `koanf:"notify"`
	// DuckDB bounds the database engine's memory and threads.
	DuckDB DuckDB `koanf:"duckdb"`
	// Webhooks makes the daemon subscribe to Close's webhooks and run the
	// jobs whose objects changed within seconds; off when Listen is empty.
	Webhooks Webhooks `koanf:"webhooks"`

	// origins maps the key paths set by environment variables
	// ("log.level", "accounts[0].api_key_env") to the variable, so that
	// problems with those values can name it.
	origins map[string]string
	// keyWarnings are the keys that could not be read, when Check was told
	// the command needs none.
	keyWarnings []string
	// expansions is what the report patterns of the jobs stood for.
	expansions []ReportExpansion
}

// Log configures logging.
type Log struct {
	Level  string `koanf:"level"`  // debug | info | warn | error
	Format string `koanf:"format"` // auto (console on a terminal, else json) | console | json
}

// DuckDB holds the engine settings that bound a process's memory and CPU
// (load.Engine). Sizes are DuckDB's: a number and a unit, e.g. 256MB, 1GB,
// 512MiB. An empty or zero value takes load.DefaultEngine's (README
// "Memory": the peak RSS they give, and when to raise memory_limit).
type DuckDB struct {
	// MemoryLimit caps DuckDB's buffer pool (DuckDB's memory_limit; its own
	// default, 80% of RAM, grows with the organisation). What exceeds it
	// is evicted to the database file or spilled to TempDirectory.
	MemoryLimit string `koanf:"memory_limit"`
	// Threads is DuckDB's worker threads, 1..MaxDuckDBThreads.
	Threads int `koanf:"threads"`
	// CheckpointThreshold is the write-ahead log size at which a commit
	// checkpoints the log into the file (DuckDB's checkpoint_threshold);
	// empty: load.DefaultEngine's.
	CheckpointThreshold string `koanf:"checkpoint_threshold"`
	// TempDirectory receives what exceeds MemoryLimit; relative paths are
	// to the config file's directory; empty: DuckDB's default, the
	// database's path with .tmp appended.
	TempDirectory string `koanf:"temp_directory"`
	// CompactFreeRatio is the share of the file holding no used block at
	// which closing the database after a run compacts it (copies it into a new one,
	// load.Compaction), when the file is at least CompactMinSize; 0 never
	// does. Default DefaultCompactFreeRatio.
	CompactFreeRatio float64 `koanf:"compact_free_ratio"`
	// CompactMinSize is the smallest file worth compacting, a size;
	// default DefaultCompactMinSize.
	CompactMinSize string `koanf:"compact_min_size"`
}

// Defaults of the compaction keys (duckdb.compact_*).
const (
	DefaultCompactFreeRatio = 0.3
	DefaultCompactMinSize   = "256MB"
)

// CompactMinBytes is CompactMinSize in bytes (DefaultCompactMinSize's when
// empty); Validate has checked it.
func (d DuckDB) CompactMinBytes() int64 {
	s := d.CompactMinSize
	if s == "" {
		s = DefaultCompactMinSize
	}
	n, _ := bytesize.Parse(s)
	return int64(n)
}

// Webhooks is the near-real-time path of the daemon (package webhook).
type Webhooks struct {
	// Listen is the host:port deliveries come to (behind a reverse proxy
	// that terminates TLS for PublicURL).
	Listen string `koanf:"listen"`
	// PublicURL is the https URL Close reaches Listen at; each account's
	// subscription delivers to <public_url>/<account>.
	PublicURL string `koanf:"public_url"`
	// Debounce is how long after a delivery, with no other for the same
	// job, the job runs; 0: DefaultWebhookDebounce.
	Debounce time.Duration `koanf:"debounce"`
}

// DefaultWebhookDebounce is webhooks.debounce when unset.
const DefaultWebhookDebounce = 2 * time.Second

// HTTP configures the status listener.
type HTTP struct {
	Listen string `koanf:"listen"` // reserved: must be empty in this version
}

// Account is one Close API key and where to reach the API with it.
type Account struct {
	Name string `koanf:"name"`
	// Exactly one of APIKey, APIKeyEnv and APIKeyFile is set; ResolveKey
	// reads the key.
	APIKey         Secret `koanf:"api_key"`
	APIKeyEnv      string `koanf:"api_key_env"`
	APIKeyFile     string `koanf:"api_key_file"`
	BaseURL        string `koanf:"base_url"`
	MaxConcurrency int    `koanf:"max_concurrency"` // requests in flight and reports of a job at once, 1..64
	// OrganizationID is the default organisation of the organization
	// reports; empty: discovered from /me/.
	OrganizationID string `koanf:"organization_id"`
	// ExportAbove reads a first sync (or --full-refresh) of leads and
	// opportunities through Close's Export API when the organisation holds
	// more than this many of them; 0 (the default) never does.
	ExportAbove int `koanf:"export_above"`
	// FilterNulls drops the null-valued keys from the _raw of every report
	// the account's jobs sync (a report's own filter_nulls wins); typed
	// columns are the same either way.
	FilterNulls bool `koanf:"filter_nulls"`
	// HashSaltEnv or HashSaltFile (a file: relative names are in
	// $CREDENTIALS_DIRECTORY when set, as api_key_file) holds the salt of
	// the hash option of the account's reports; ResolveSalt reads it.
	HashSaltEnv  string `koanf:"hash_salt_env"`
	HashSaltFile string `koanf:"hash_salt_file"`

	// baseDir is the config file's directory, against which a relative
	// APIKeyFile resolves when $CREDENTIALS_DIRECTORY is unset.
	baseDir string
}

// Job is a set of reports synced with one account on one schedule.
type Job struct {
	Name     string `koanf:"name"`
	Account  string `koanf:"account"`
	Schedule string `koanf:"schedule"` // cron.ParseStandard: 5 fields, @hourly, @every 1h, CRON_TZ=...
	Timezone string `koanf:"timezone"` // IANA zone of Schedule; empty: the machine's
	// StartDate is the oldest data a first run pulls; zero: everything.
	StartDate Date `koanf:"start_date"`
	// Timeout cancels a run of the job after this long; 0: no limit.
	Timeout time.Duration `koanf:"timeout"`
	// OrganizationID and UserID parameterise the organization, reporting and
	// users_self reports; empty: the account's, or discovered from /me/.
	OrganizationID string      `koanf:"organization_id"`
	UserID         string      `koanf:"user_id"`
	Reports        []ReportRef `koanf:"reports"`
	// RunOnStart runs the job once when the daemon starts.
	RunOnStart bool `koanf:"run_on_start"`
	// CatchUp runs the job once at daemon start when its last success is
	// older than one interval of its schedule; nil means true.
	CatchUp *bool `koanf:"catch_up"`
	// Retry re-runs the reports of a run that failed.
	Retry Retry `koanf:"retry"`
	// Reconcile is the schedule of the job's reconciliation pass, which
	// lists ids only and marks rows whose objects no longer exist; empty:
	// never (the event log's deletes still apply).
	Reconcile string `koanf:"reconcile"`
	// Verify is the schedule of the job's verification (closesync verify
	// in the daemon: each report's live rows against Close's count, the
	// closesync_verify_* metrics); empty: never.
	Verify string `koanf:"verify"`
	// Deletes is soft (rows deleted in Close keep _deleted_at, the default)
	// or hard (they are removed).
	Deletes string `koanf:"deletes"`
	// OnSchemaChange is what a custom field added, renamed, retyped or
	// deleted in Close does to the _custom views (it is recorded in
	// sync.schema_changes either way): evolve (the default) they follow,
	// freeze they stay as they are, fail they stay and the job's run of
	// custom_fields fails.
	OnSchemaChange string `koanf:"on_schema_change"`
}

// Retry is a job's policy for failed runs.
type Retry struct {
	Attempts int           `koanf:"attempts"` // retries after the first try, 0..10; 0: none
	Delay    time.Duration `koanf:"delay"`    // before each retry; 0: DefaultRetryDelay
}

// DefaultStopGrace is stop_grace when unset.
const DefaultStopGrace = 30 * time.Second

// DefaultRetryDelay is the wait before a retry when retry.delay is unset.
const DefaultRetryDelay = time.Minute

// CatchesUp reports whether the job runs at start after missing a run.
func (j Job) CatchesUp() bool { return j.CatchUp == nil || *j.CatchUp }

// ReportRef is a report of a job. In YAML it is either the report's name or
// a map with the name and options. The name may be a pattern, "all" or a
// glob such as activities_* (IsReportPattern), which validation replaces
// by the reports it matches, each with the pattern's options.
type ReportRef struct {
	Name string `koanf:"name"`
	// Mode is upsert, append or replace; empty: the report's default
	// (upsert, or replace for small full-refresh reports).
	Mode string `koanf:"mode"`
	// AttributionWindow re-reads records created this long before the
	// bookmark; 0: the report's default.
	AttributionWindow time.Duration `koanf:"attribution_window"`
	// Schedule runs this report on a schedule of its own instead of the
	// job's; empty: the job's.
	Schedule string `koanf:"schedule"`
	// FilterNulls drops the report's null-valued keys from _raw; nil: the
	// account's filter_nulls.
	FilterNulls *bool `koanf:"filter_nulls"`
	// Exclude removes these fields from the report's records before they
	// are stored, and Hash replaces their values by salted SHA-256 hashes
	// (package privacy: paths like emails.email, custom.<name or id>).
	Exclude []string `koanf:"exclude"`
	Hash    []string `koanf:"hash"`
	// History keeps every version of the report's rows in
	// <table>_versions (valid_from, valid_to); nil: the report's default
	// (on for leads, contacts, opportunities and tasks in upsert mode).
	History *bool `koanf:"history"`
}

// FiltersNulls reports whether job's report ref drops the null-valued
// keys of its records' _raw: the report's filter_nulls, else its account's.
func (c *Config) FiltersNulls(job Job, ref ReportRef) bool {
	if ref.FilterNulls != nil {
		return *ref.FilterNulls
	}
	for _, a := range c.Accounts {
		if a.Name == job.Account {
			return a.FilterNulls
		}
	}
	return false
}

// Secret is a string that never prints: fmt verbs, JSON, text encoders and
// slog all see "<redacted>" (or "" when it is empty). Convert it with
// string(s) where the value is really needed.
type Secret string

const redacted = "<redacted>"

// String returns "<redacted>", or "" for an empty Secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format prints the redacted form for every verb, %#v and %x included.
func (s Secret) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), s.String())
}

// MarshalText returns the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalJSON returns the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Date is a calendar date or an instant from YAML: an unquoted date (which
// the YAML parser turns into a timestamp), a quoted "2024-01-01" or an RFC
// 3339 date-time. Dates without a zone are UTC. The zero value means unset.
type Date struct{ time.Time }

var dateLayouts = []string{time.DateOnly, time.RFC3339Nano, "2006-01-02T15:04:05", time.DateTime}

// ParseDate parses the forms Date accepts.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return Date{t.UTC()}, nil
		}
	}
	return Date{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD or an RFC 3339 date-time such as 2024-01-01T00:00:00Z)", s)
}

// String is YYYY-MM-DD for a midnight UTC date, RFC 3339 otherwise, and ""
// when unset.
func (d Date) String() string {
	switch {
	case d.IsZero():
		return ""
	case d.Equal(d.Truncate(24 * time.Hour)):
		return d.UTC().Format(time.DateOnly)
	}
	return d.UTC().Format(time.RFC3339Nano)
}

// MarshalText returns String.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON returns String as a JSON string.
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Load reads the YAML file at path, applies the environment overrides
// (CLOSESYNC_*, see the package documentation) and the defaults of absent
// keys, and decodes the result strictly. Every unknown key, bad override and
// value of the wrong type is reported at once, one per line of the
// errors.Join'ed error, each "<file>: <key path>: <problem>". Load does not
// validate: call Validate, or use Check, which does both in one pass.
func Load(path string) (*Config, error) {
	cfg, problems, err := load(path)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		errs := make([]error, len(problems))
		for i, p := range problems {
			errs[i] = fmt.Errorf("%s: %s", path, p.annotated(cfg.origins))
		}
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// InvalidError is the error of Check: every problem of a config file, each
// "<key path>: <problem>" (naming the variable that set the value, if one
// did).
type InvalidError struct {
	Path     string
	Problems []string
}

func (e *InvalidError) Error() string {
	return e.Path + " is invalid:\n  " + strings.Join(e.Problems, "\n  ")
}

// Check loads the file at path (as Load) and validates it (as Validate, with
// what needs says the command will do) in one pass, so that unknown keys, values of the wrong type and values that
// Validate refuses are all reported at once, as an *InvalidError. A value
// whose key is already reported (a wrong type, a section that is not a map)
// is not reported again by validation, nor is a missing key that an unknown
// key probably meant (shedule: ... and "schedule is required"). A file that
// cannot be read or is not YAML is a plain error.
func Check(path string, knownReports []string, needs Needs) (*Config, error) {
	cfg, problems, err := load(path)
	if err != nil {
		return nil, err
	}
	v := &validator{origins: cfg.origins}
	cfg.validate(v, knownReports, needs)
	for _, p := range v.problems {
		if !coveredBy(p, problems) {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return cfg, nil
	}
	ie := &InvalidError{Path: path}
	for _, p := range problems {
		ie.Problems = append(ie.Problems, p.annotated(cfg.origins))
	}
	return nil, ie
}

// coveredBy tells whether validation problem p is already said by one of
// the load problems: at its key path or above it, or as the key a typo meant.
func coveredBy(p problem, loaded []problem) bool {
	for _, q := range loaded {
		if p.path == q.path || strings.HasPrefix(p.path, q.path+".") || strings.HasPrefix(p.path, q.path+"[") {
			return true
		}
		if strings.HasPrefix(p.msg, "is required") && slices.Contains(q.suggests, p.path) {
			return true
		}
		// "no API key source" when the source given is mistyped or of the
		// wrong type.
		if strings.HasPrefix(p.msg, "no API key source") {
			for _, at := range append([]string{q.path}, q.suggests...) {
				if rest, ok := strings.CutPrefix(at, p.path+"."); ok && strings.HasPrefix(rest, "api_key") {
					return true
				}
			}
		}
	}
	return false
}

// load reads, overrides, defaults and decodes; it returns the config as far
// as it decoded and the problems met. err is a file or YAML syntax error.
func load(path string) (*Config, []problem, error) {
	k := koanf.New(".")
	if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
		if msg, ok := describeYAMLError(err); ok {
			return nil, nil, fmt.Errorf("read config %s: %s", path, msg)
		}
		return nil, nil, fmt.Errorf("read config %s: %w", path, err)
	}
	raw := k.Raw() // a deep copy, so overrides can edit it in place
	envProblems, origins, err := applyEnv(raw, os.Environ)
	if err != nil {
		return nil, nil, err
	}
	applyDefaults(raw)
	cfg := &Config{}
	problems := slices.Concat(envProblems, decode(raw, cfg))
	cfg.origins = origins
	if dir, err := filepath.Abs(filepath.Dir(path)); err == nil {
		cfg.resolvePaths(dir)
	}
	return cfg, problems, nil
}

// resolvePaths makes the relative path keys relative to dir, the config
// file's directory (as Prometheus does), rather than to whatever directory
// the command runs in: database, snapshot and publish.parquet now,
// api_key_file when it is read (a relative name is looked up in
// $CREDENTIALS_DIRECTORY first).
func (c *Config) resolvePaths(dir string) {
	c.Database = resolvePath(dir, c.Database)
	c.Snapshot = resolvePath(dir, c.Snapshot)
	c.Publish.Parquet = resolvePath(dir, c.Publish.Parquet)
	c.DuckDB.TempDirectory = resolvePath(dir, c.DuckDB.TempDirectory)
	for i := range c.Accounts {
		c.Accounts[i].baseDir = dir
	}
}

// resolvePath joins a relative path to dir; empty stays empty.
func resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// applyDefaults fills in the keys that are absent or null.
func applyDefaults(raw map[string]any) {
	setDefault(raw, "database", DefaultDatabase)
	setDefault(raw, "schema", DefaultSchema)
	if log := section(raw, "log"); log != nil {
		setDefault(log, "level", DefaultLogLevel)
		setDefault(log, "format", DefaultLogFormat)
	}
	if d := section(raw, "duckdb"); d != nil {
		setDefault(d, "compact_free_ratio", DefaultCompactFreeRatio)
		setDefault(d, "compact_min_size", DefaultCompactMinSize)
	}
	if p := section(raw, "publish"); p != nil {
		setDefault(p, "partition_above", DefaultPartitionAbove)
		setDefault(p, "views", true)
	}
	for _, a := range items(raw["accounts"]) {
		setDefault(a, "base_url", DefaultBaseURL)
		setDefault(a, "max_concurrency", DefaultMaxConcurrency)
	}
	for _, j := range items(raw["jobs"]) {
		setDefault(j, "timeout", DefaultJobTimeout.String())
	}
}

func setDefault(m map[string]any, key string, v any) {
	if m[key] == nil {
		m[key] = v
	}
}

// section returns m[key] as a map, creating it when absent; nil when it is
// something else (the decoder reports that).
func section(m map[string]any, key string) map[string]any {
	if m[key] == nil {
		m[key] = map[string]any{}
	}
	s, _ := m[key].(map[string]any)
	return s
}

// items returns the maps of a list; other items are left to the decoder.
func items(v any) []map[string]any {
	l, _ := v.([]any)
	var out []map[string]any
	for _, it := range l {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
