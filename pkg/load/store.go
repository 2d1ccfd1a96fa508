package load

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/bytesize"
	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// Defaults for Options.
const (
	DefaultLockTimeout = 2 * time.Minute
	lockBackoffStart   = 100 * time.Millisecond
	lockBackoffMax     = 5 * time.Second
)

// Options configure Open.
type Options struct {
	// Path is the DuckDB database file. Its directory must exist.
	Path string
	// Schema is the schema of the data tables (default "close").
	Schema string
	// Migrations holds the numbered *.sql files of the sync schema
	// (closesync.SQL), applied in name order, each once.
	Migrations fs.FS
	// LockTimeout bounds the wait for another process (a DuckDB CLI, a BI tool)
	// to release the file. Default DefaultLockTimeout.
	LockTimeout time.Duration
	// ReadOnly opens an existing file for reading only (history, reports):
	// no migrations, and other readers may share it.
	ReadOnly bool
	Logger   *zap.Logger
	// OnLockWait, when set, is told each time Open finds the file locked
	// and waits before trying again (a progress display).
	OnLockWait func(LockWait)
	// Engine bounds DuckDB's memory and threads; zero fields take
	// DefaultEngine's.
	Engine Engine
	// Compaction is when Close compacts the file (compact.go); the zero
	// value never does.
	Compaction Compaction
}

// Engine holds the DuckDB settings that bound a process's resources. They
// are set when the database opens (DuckDB's global settings), for readers
// too. Sizes are DuckDB's: a number and a unit (KB, MB, GB, KiB, MiB, GiB).
type Engine struct {
	// MemoryLimit caps DuckDB's buffer pool (DuckDB's memory_limit). Without
	// one DuckDB takes 80% of the machine's RAM and keeps every block it
	// wrote, so a sync's memory grew with the organisation. Beyond the limit
	// DuckDB evicts blocks to the file or spills to TempDirectory.
	MemoryLimit string
	// Threads is DuckDB's worker threads (threads); its default is one per
	// core.
	Threads int
	// CheckpointThreshold is the write-ahead log size at which a commit
	// checkpoints (checkpoint_threshold). Until a checkpoint, the rows of the
	// log stay in memory, so it bounds what commits pin in the buffer pool.
	CheckpointThreshold string
	// TempDirectory is where DuckDB spills what exceeds MemoryLimit; empty:
	// DuckDB's default, the database's path with .tmp appended, beside the
	// file (in the state directory under systemd).
	TempDirectory string
}

// DefaultEngine is what an unset Engine field takes (a config's unset
// memory_limit takes MemoryLimitFor its tables). With it and the allocator
// giving freed pages back (allocator.go), the peak RSS of a first sync of
// the leads is under 150 MiB up to 20,000 leads and about 190 MiB at
// 100,000, in its final checkpoint (README "Memory"), where DuckDB's
// defaults took 0.65-2.5 GiB. One thread did the work of two in the same
// time for less CPU; the price of the small buffer pool is CPU at 100,000
// leads (DuckDB evicts and re-reads blocks), so a machine with memory to
// spare should raise MemoryLimit. The checkpoint
// threshold is high so that a first sync of up to about 300,000 leads
// (656 MB of log per 100,000) checkpoints once, at its end: each
// checkpoint during a run rewrote the row groups appended to so far, and
// at 256MB a 100,000-lead first sync left a file 44% free (compacted as it
// closed, which cost 20 s and the run's highest peak).
var DefaultEngine = Engine{MemoryLimit: "64MB", Threads: 1, CheckpointThreshold: "2GB"}

// MemoryLimitFor is the memory_limit for a database whose runs write the
// given number of primary-keyed tables, when the config sets none:
// DefaultEngine's for the batches, and 1.5MB more per table. The upsert
// holds each table's primary-key index (ART) resident however small the
// table, a few 256 KiB buffers each: a demo of the whole catalog (52
// tables) held 30-32 MB of ART_INDEX in duckdb_memory() at 20 leads a
// report, and failed at 96MB where 128MB ran it (README "Memory").
func MemoryLimitFor(tables int) string {
	base, _ := bytesize.Parse(DefaultEngine.MemoryLimit)
	return fmt.Sprintf("%dMB", int64(base/1e6)+int64(tables*3+1)/2)
}

// allocatorSettings make DuckDB's allocator return freed memory to the
// system promptly instead of keeping up to 128 MB (its defaults) per
// thread after a query: part of the bound, not a choice of the user.
var allocatorSettings = map[string]string{
	"allocator_flush_threshold":                   "4MB",
	"allocator_bulk_deallocation_flush_threshold": "4MB",
	"allocator_background_threads":                "true",
}

// withDefaults fills the unset fields of e from DefaultEngine.
func (e Engine) withDefaults() Engine {
	if e.MemoryLimit == "" {
		e.MemoryLimit = DefaultEngine.MemoryLimit
	}
	if e.Threads == 0 {
		e.Threads = DefaultEngine.Threads
	}
	if e.CheckpointThreshold == "" {
		e.CheckpointThreshold = DefaultEngine.CheckpointThreshold
	}
	return e
}

// dsnQuery is the DSN's configuration: DuckDB applies it when it opens the
// database, before any statement runs.
func (e Engine) dsnQuery(readOnly bool) string {
	q := url.Values{}
	if readOnly {
		q.Set("access_mode", "READ_ONLY")
	}
	e = e.withDefaults()
	q.Set("memory_limit", e.MemoryLimit)
	q.Set("threads", strconv.Itoa(e.Threads))
	q.Set("checkpoint_threshold", e.CheckpointThreshold)
	if e.TempDirectory != "" {
		q.Set("temp_directory", e.TempDirectory)
	}
	for k, v := range allocatorSettings {
		q.Set(k, v)
	}
	return q.Encode()
}

// Store is an open closesync database. Its methods are safe for concurrent
// use; writes are serialised on one connection, the single writer DuckDB
// allows per file.
type Store struct {
	connector *duckdb.Connector
	db        *sql.DB
	schema    string
	log       *zap.Logger

	readOnly bool
	// memoryLimit is DuckDB's memory_limit, for the hint of an
	// out-of-memory error.
	memoryLimit string
	// path names the file in errors; firstRun is the largest run id before
	// this open: the runs above it are this open's (see Close).
	path     string
	firstRun int64

	// opts reopen the file after a compaction; lockFile, once one has
	// replaced the file, holds the lock of the new file from before its
	// rename until the connection to it closes (compact.go).
	opts     Options
	lockFile *os.File

	mu      sync.Mutex
	conn    *sql.Conn
	ensured map[string]schema.WriteMode
	// inTx is set while a transaction of inTx is open: an inTx inside it
	// joins it (EnsureTable makes a table, its views and comments in one).
	inTxn bool
	// cat is what this open knows of the file's catalog (catalog.go);
	// nil until read, and after anything that may have changed it.
	cat *catalog
	// liveSchema: this open made sure the live schema exists.
	liveSchema bool
}

// LockWait is one wait of Open for the file's lock.
type LockWait struct {
	Holder       string // who holds it, as DuckDB says ("PID 1234"), or "unknown"
	Attempt      int    // the attempts that found it locked, this one included
	Wait, Waited time.Duration
	Timeout      time.Duration // lock_timeout: Open gives up once Waited reaches it
}

// ErrLocked reports that another process holds the database file.
var ErrLocked = errors.New("database file is locked by another process")

// Open opens (creating if needed) the database file, waits for a lock held by
// another process up to opts.LockTimeout, and applies pending migrations.
// Close must be called to release the file.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Schema == "" {
		opts.Schema = "close"
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Path == "" {
		return nil, errors.New("open database: no path given")
	}
	if dir := filepath.Dir(opts.Path); dir != "" {
		if st, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("open database %s: directory: %w", opts.Path, err)
		} else if !st.IsDir() {
			return nil, fmt.Errorf("open database %s: %s is not a directory", opts.Path, dir)
		}
	}
	if opts.ReadOnly {
		if _, err := os.Stat(opts.Path); err != nil {
			return nil, fmt.Errorf("open database %s: %w", opts.Path, err)
		}
	}
	connector, err := openWithLockWait(ctx, opts)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open database %s: %w", opts.Path, err), db.Close(), connector.Close())
	}
	tuneAllocator(opts.Logger)
	s := &Store{connector: connector, db: db, conn: conn, schema: opts.Schema, log: opts.Logger, ensured: map[string]schema.WriteMode{}, readOnly: opts.ReadOnly,
		memoryLimit: opts.Engine.withDefaults().MemoryLimit, opts: opts}
	if opts.ReadOnly {
		return s, nil
	}
	if err := s.migrate(ctx, opts.Migrations); err != nil {
		return nil, errors.Join(fmt.Errorf("database %s: %w", opts.Path, err), s.Close())
	}
	if err := s.recoverInterrupted(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("database %s: %w", opts.Path, err), s.Close())
	}
	if err := s.noteFirstRun(ctx, opts.Path); err != nil {
		return nil, errors.Join(fmt.Errorf("database %s: %w", opts.Path, err), s.Close())
	}
	return s, nil
}

func openWithLockWait(ctx context.Context, opts Options) (*duckdb.Connector, error) {
	start := time.Now()
	deadline := start.Add(opts.LockTimeout)
	wait := lockBackoffStart
	for attempt := 1; ; attempt++ {
		dsn := opts.Path + "?" + opts.Engine.dsnQuery(opts.ReadOnly)
		connector, err := duckdb.NewConnector(dsn, initConn)
		if err == nil {
			return connector, nil
		}
		if !isLockError(err) {
			return nil, fmt.Errorf("open database %s: %w%s", opts.Path, err, foreignHint(err))
		}
		// The last wait is cut to the deadline, so the whole lock_timeout
		// is waited, and the message says how long it really was.
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return nil, fmt.Errorf("open database %s: %w (waited %s, lock_timeout %s; close the DuckDB CLI or BI tool holding it, or open it with -readonly only between runs): %w",
				opts.Path, ErrLocked, time.Since(start).Round(10*time.Millisecond), opts.LockTimeout, err)
		}
		wait = min(wait, remaining)
		opts.Logger.Warn("database file is locked, waiting", zap.String("path", opts.Path), zap.Int("attempt", attempt),
			zap.Duration("wait", wait), zap.Duration("waited", time.Since(start).Round(time.Millisecond)), zap.String("holder", lockHolder(err)))
		if opts.OnLockWait != nil {
			opts.OnLockWait(LockWait{Holder: lockHolder(err), Attempt: attempt, Wait: wait, Waited: time.Since(start), Timeout: opts.LockTimeout})
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("open database %s: waiting for lock: %w", opts.Path, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, lockBackoffMax)
	}
}

// connSettings run on every new connection (Engine's settings are in the
// DSN):
//   - naive timestamps from Close are UTC, never the machine's local zone;
//   - nothing relies on the physical order of inserted rows.
var connSettings = []string{
	"SET TimeZone = 'UTC'",
	"SET preserve_insertion_order = false",
}

func initConn(execer driver.ExecerContext) error {
	for _, q := range connSettings {
		if _, err := execer.ExecContext(context.Background(), q, nil); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// oomHint is the advice appended to an error of DuckDB running out of its
// memory_limit: what a batch needs beyond the primary-key indexes, which
// stay resident and grow with the tables, no longer fits.
func (s *Store) oomHint(err error) string {
	if !strings.Contains(err.Error(), "Out of Memory Error") {
		return ""
	}
	return fmt.Sprintf(" (DuckDB's memory_limit is %s: raise duckdb.memory_limit in the config; the primary-key indexes of large tables must stay in memory)", s.memoryLimit)
}

func isLockError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not set lock") || strings.Contains(msg, "Conflicting lock")
}

// lockHolder extracts DuckDB's description of the process holding the lock,
// e.g. "PID 1234", when the error names one.
func lockHolder(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "(PID"); i >= 0 {
		if j := strings.Index(msg[i:], ")"); j > 0 {
			return msg[i+1 : i+j]
		}
	}
	return "unknown"
}

func foreignHint(err error) string {
	if strings.Contains(err.Error(), "not a valid DuckDB database file") {
		return " (the file exists but is not a DuckDB database: check the database key in the config)"
	}
	return ""
}

// CheckpointPending is the error of this open's successful runs while the
// final checkpoint is in progress. It stays in the history when the
// checkpoint fails fatally (a full disk) or the process dies first, so the
// history says the data is not yet in the file itself.
const CheckpointPending = "the final checkpoint of the database did not complete: the rows are in its write-ahead log " +
	"(the .wal file beside it), which the next open replays; check the free disk space"

// noteFirstRun records the run ids that predate this open.
func (s *Store) noteFirstRun(ctx context.Context, path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path = path
	if err := s.conn.QueryRowContext(ctx, "SELECT coalesce(max(run_id), 0) FROM sync.runs").Scan(&s.firstRun); err != nil {
		return fmt.Errorf("read run history: %w", err)
	}
	return nil
}

// Close checkpoints the write-ahead log into the file, compacts it when
// Options.Compaction says so (compact.go), and releases it. The
// checkpoint is part of every run of this open: before it, the runs that
// succeeded are marked failed with CheckpointPending, and only a checkpoint
// that succeeds marks them successful again, so a checkpoint that fails
// (DuckDB then invalidates the database and nothing more can be written)
// leaves a history that says so once the next open replays the log. The
// error names the file and the cause.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.conn != nil && !s.readOnly {
		err := s.checkpoint(context.Background())
		errs = append(errs, err)
		if err == nil {
			errs = append(errs, s.compactIfDue(context.Background()))
		}
	}
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
		s.conn = nil
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	if s.connector != nil {
		errs = append(errs, s.connector.Close())
		s.connector = nil
	}
	if s.lockFile != nil { // after the connection: closing it drops the lock
		errs = append(errs, s.lockFile.Close())
		s.lockFile = nil
	}
	return errors.Join(errs...)
}

// checkpoint is Close's CHECKPOINT with the history around it. The caller
// holds s.mu.
func (s *Store) checkpoint(ctx context.Context) error {
	marked := int64(0)
	if s.path != "" { // opened fully (migrated): sync.runs exists
		res, err := s.conn.ExecContext(ctx, "UPDATE sync.runs SET status = ?, error = ? WHERE run_id > ? AND status = ?",
			runlog.Failed, CheckpointPending, s.firstRun, runlog.Success)
		if err != nil {
			s.log.Warn("runs not marked before the final checkpoint", zap.Error(err))
		} else if marked, err = res.RowsAffected(); err != nil {
			marked = 1 // unknown: restore below
		}
	}
	if _, err := s.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		err = fmt.Errorf("checkpoint %s: %w", s.path, err)
		if marked > 0 {
			// Usually refused (the database is invalidated), so its error
			// is dropped: the pending message is there either way, and err
			// says what failed.
			_, _ = s.conn.ExecContext(ctx, "UPDATE sync.runs SET error = ? || ': ' || ? WHERE run_id > ? AND error = ?",
				CheckpointPending, err.Error(), s.firstRun, CheckpointPending)
		}
		return err
	}
	if marked == 0 {
		return nil
	}
	if _, err := s.conn.ExecContext(ctx, "UPDATE sync.runs SET status = ?, error = NULL WHERE run_id > ? AND error = ?",
		runlog.Success, s.firstRun, CheckpointPending); err != nil {
		return fmt.Errorf("checkpoint %s: restore the runs' status: %w", s.path, err)
	}
	if _, err := s.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		// The data is in the file; only the status flip is in the log.
		return fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	return nil
}

// Schema returns the data schema name.
func (s *Store) Schema() string { return s.schema }

// migrate applies each *.sql file of fsys not yet recorded in
// sync.migrations, in name order, each in its own transaction.
func (s *Store) migrate(ctx context.Context, fsys fs.FS) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkForeign(ctx); err != nil {
		return err
	}
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS sync",
		"CREATE TABLE IF NOT EXISTS sync.migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
		"CREATE SCHEMA IF NOT EXISTS " + quoteIdent(s.schema),
	} {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrate: %s: %w", q, err)
		}
	}
	if fsys == nil {
		return errors.New("migrate: no migrations given")
	}
	names, err := fs.Glob(fsys, "sql/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(names) == 0 {
		names, _ = fs.Glob(fsys, "*.sql")
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		var n int
		if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM sync.migrations WHERE name = ?", base).Scan(&n); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
		if n > 0 {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
		if err := s.inTx(ctx, func() error {
			if _, err := s.conn.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := s.conn.ExecContext(ctx, "INSERT INTO sync.migrations VALUES (?, now())", base)
			return err
		}); err != nil {
			return fmt.Errorf("migrate %s: %w", base, err)
		}
	}
	if err := s.checkRunsShape(ctx); err != nil {
		return err
	}
	s.cat = nil // the migrations changed it
	return s.commentSync(ctx)
}

// checkForeign refuses a database whose sync schema was not made by
// closesync, rather than writing into somebody else's tables.
func (s *Store) checkForeign(ctx context.Context) error {
	var tables int
	if err := s.conn.QueryRowContext(ctx,
		"SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'sync' AND database_name = current_database()").Scan(&tables); err != nil {
		return fmt.Errorf("inspect database: %w", err)
	}
	if tables == 0 {
		return nil
	}
	var mig int
	if err := s.conn.QueryRowContext(ctx,
		"SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'sync' AND table_name = 'migrations' AND database_name = current_database()").Scan(&mig); err != nil {
		return fmt.Errorf("inspect database: %w", err)
	}
	if mig == 0 {
		return errors.New("schema \"sync\" exists but was not created by closesync (no sync.migrations table): refusing to write into it; use another database file")
	}
	return nil
}

// checkRunsShape verifies sync.runs has the columns closesync writes.
func (s *Store) checkRunsShape(ctx context.Context) error {
	rows, err := s.conn.QueryContext(ctx,
		"SELECT column_name FROM duckdb_columns() WHERE schema_name = 'sync' AND table_name = 'runs' AND database_name = current_database()")
	if err != nil {
		return fmt.Errorf("inspect sync.runs: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		have[c] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var missing []string
	for _, c := range runColumns {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("table sync.runs lacks columns %s: the file was written by something else", strings.Join(missing, ", "))
	}
	return nil
}

// recoverInterrupted marks runs left "running" by a process that died: only
// one process can hold the file, so none of them is still going.
func (s *Store) recoverInterrupted(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.conn.ExecContext(ctx, `UPDATE sync.runs SET status = ?, finished_at = now(),
		error = 'interrupted: the process ended before the run finished; the next run resumes from the last committed batch'
		WHERE status = ?`, runlog.Failed, runlog.Running)
	if err != nil {
		return fmt.Errorf("mark interrupted runs: %w", err)
	}
	return nil
}

// inTx runs fn inside BEGIN/COMMIT on the store's connection, rolling back on
// error; inside another inTx, fn joins that transaction (which commits or
// rolls back as a whole). A transaction that does not commit forgets the
// catalog cache, which may describe what it made. The caller holds s.mu.
func (s *Store) inTx(ctx context.Context, fn func() error) error {
	if s.inTxn {
		return fn()
	}
	if _, err := s.conn.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return err
	}
	s.inTxn = true
	committed := false
	defer func() {
		s.inTxn = false
		if !committed {
			s.cat = nil
		}
	}()
	if err := fn(); err != nil {
		// Roll back with a fresh context: the run's may be cancelled, and the
		// transaction must not stay open.
		if _, rbErr := s.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
			return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
		}
		return err
	}
	if _, err := s.conn.ExecContext(ctx, "COMMIT"); err != nil {
		err = fmt.Errorf("commit: %w", err)
		// A COMMIT that reached DuckDB ended the transaction, failed or not
		// (a ROLLBACK then fails with "no transaction is active"). One that a
		// cancelled ctx stopped before it was sent leaves the transaction
		// open: roll that back with a fresh context and report a failure.
		if ctx.Err() != nil {
			if _, rbErr := s.conn.ExecContext(context.Background(), "ROLLBACK"); rbErr != nil {
				return errors.Join(err, fmt.Errorf("rollback: %w", rbErr))
			}
		}
		return err
	}
	committed = true
	return nil
}
