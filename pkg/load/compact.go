package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/runlog"
)

// DuckDB never gives the blocks a checkpoint frees back to the file system:
// a large first sync, whose checkpoints rewrite row groups as they grow,
// leaves a file of which half or more is free blocks, reused by later
// writes but never shrunk. The only way to shrink it is to copy the
// database into a new file. Compact does that, and Close does it when
// Options.Compaction says the free share is worth it.

// Compaction says when Close compacts the file: when at least FreeRatio of
// it holds no used block (FileSize.FreeRatio) and it is at least MinSize
// bytes. FreeRatio 0 never compacts.
type Compaction struct {
	FreeRatio float64
	MinSize   int64
	// MinInterval is the least time between the last compaction and one
	// that Close starts. A checkpoint rewrites every row group a run
	// updated, so the runs after a compaction grow the file again by about
	// the tables they touch: without it a daemon would copy the file after
	// nearly every run.
	MinInterval time.Duration
}

// DefaultCompactMinInterval is the MinInterval the config gives.
const DefaultCompactMinInterval = 24 * time.Hour

// Due reports whether a file of that size and free share should be
// compacted.
func (c Compaction) Due(f FileSize) bool {
	return c.FreeRatio > 0 && f.Bytes >= c.MinSize && f.FreeRatio() >= c.FreeRatio
}

// FileSize is the size of the database file and how much of it is in use.
type FileSize struct {
	Bytes      int64 // the file's size on disk
	BlockSize  int64
	UsedBlocks int64
	// FreeBlocks are DuckDB's free list, which counts blocks it has cut
	// off the end of the file too: FreeRatio uses UsedBlocks instead.
	FreeBlocks int64
}

// FreeRatio is the share of the file that holds no used block: about what
// a compaction gives back.
func (f FileSize) FreeRatio() float64 {
	if f.Bytes <= 0 {
		return 0
	}
	return max(0, 1-float64(f.usedBytes())/float64(f.Bytes))
}

// usedBytes is what a copy of the database needs at least.
func (f FileSize) usedBytes() int64 { return f.UsedBlocks * f.BlockSize }

// CompactResult describes a compaction.
type CompactResult struct {
	RunID         int64
	Before, After FileSize
	Duration      time.Duration
	// Replaced: the compacted file took the database's name (an error
	// after it concerns the run's record, not the data).
	Replaced bool
}

// CompactReport is the report name of a compaction's row in sync.runs,
// whose trigger is runlog.Compact: it belongs to no job, report or account.
const CompactReport = "database"

// compactAlias is the name the new file is attached under.
const compactAlias = "closesync_compact"

// compactSuffix names the new file while it is written, beside the
// database (not .tmp: that is DuckDB's spill directory).
const compactSuffix = ".compact"

// ErrCompactSpace is the error of a compaction the file system has no room
// for: the copy needs the used part of the file.
var ErrCompactSpace = errors.New("not enough free disk space for a copy of the database")

// FileSize reports the size of the database file and its free blocks,
// after a checkpoint (the blocks the write-ahead log frees are not free
// before).
func (s *Store) FileSize(ctx context.Context) (FileSize, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileSize(ctx)
}

func (s *Store) fileSize(ctx context.Context) (FileSize, error) {
	var f FileSize
	if err := s.conn.QueryRowContext(ctx, `SELECT block_size, used_blocks, free_blocks FROM pragma_database_size()
		WHERE database_name = current_database()`).Scan(&f.BlockSize, &f.UsedBlocks, &f.FreeBlocks); err != nil {
		return f, fmt.Errorf("size of database %s: %w", s.opts.Path, err)
	}
	st, err := os.Stat(s.opts.Path)
	if err != nil {
		return f, fmt.Errorf("size of database: %w", err)
	}
	f.Bytes = st.Size()
	return f, nil
}

// Compact checkpoints the database and copies it into a new file beside it,
// which replaces the original by an atomic rename; the store then writes to
// the new file. It is a run of its own in sync.runs (trigger compact). On
// any error before the rename the original file is left as it was (the run
// is recorded failed in it) and the new file is removed; a process killed
// at any point leaves the original or the compacted file under the name,
// and at most a stale .compact file, which the next compaction removes.
// Writes wait for it to end.
func (s *Store) Compact(ctx context.Context) (CompactResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compact(ctx)
}

// compactIfDue is Close's compaction, after its checkpoint: it compacts when
// the policy says so. A compaction that fails leaving the original in place
// is logged (and recorded in sync.runs), not returned: the data is safe.
// The caller holds s.mu.
func (s *Store) compactIfDue(ctx context.Context) error {
	if s.readOnly || s.opts.Compaction.FreeRatio <= 0 {
		return nil
	}
	f, err := s.fileSize(ctx)
	if err != nil {
		s.log.Warn("database not compacted", zap.Error(err))
		return nil
	}
	if !s.opts.Compaction.Due(f) {
		s.log.Debug("database compaction not due", zap.Int64("bytes", f.Bytes), zap.Float64("free_ratio", f.FreeRatio()))
		return nil
	}
	var last sql.NullTime
	if err := s.conn.QueryRowContext(ctx, "SELECT max(finished_at) FROM sync.runs WHERE trigger = ? AND status = ?",
		runlog.Compact, runlog.Success).Scan(&last); err != nil {
		s.log.Warn("database not compacted", zap.Error(err))
		return nil
	}
	if last.Valid && time.Since(last.Time) < s.opts.Compaction.MinInterval {
		s.log.Info("database compaction due but skipped: the last one was recent", zap.Int64("bytes", f.Bytes),
			zap.Float64("free_ratio", f.FreeRatio()), zap.Time("last", last.Time), zap.Duration("min_interval", s.opts.Compaction.MinInterval))
		return nil
	}
	s.log.Info("compacting database", zap.String("path", s.opts.Path), zap.Int64("bytes", f.Bytes),
		zap.Float64("free_ratio", f.FreeRatio()), zap.Float64("compact_free_ratio", s.opts.Compaction.FreeRatio))
	r, err := s.compact(ctx)
	if err != nil {
		switch {
		case s.conn == nil:
			return err // replaced but not reopened: Close must say so
		case r.Replaced:
			s.log.Warn("database compacted, but its run was not recorded", zap.Error(err))
		default:
			s.log.Warn("database not compacted; the file is unchanged", zap.Error(err))
		}
		return nil
	}
	s.log.Info("database compacted", zap.String("path", s.opts.Path), zap.Int64("before_bytes", r.Before.Bytes),
		zap.Int64("after_bytes", r.After.Bytes), zap.Duration("took", r.Duration))
	return nil
}

// compact is Compact with s.mu held.
func (s *Store) compact(ctx context.Context) (CompactResult, error) {
	start := time.Now()
	var r CompactResult
	if s.readOnly {
		return r, errors.New("compact: the database is open read-only")
	}
	path := s.opts.Path
	tmp := path + compactSuffix
	if err := removeCompactFiles(tmp); err != nil {
		return r, err
	}
	if _, err := s.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return r, fmt.Errorf("compact %s: checkpoint: %w", path, err)
	}
	before, err := s.fileSize(ctx)
	if err != nil {
		return r, err
	}
	r.Before = before
	if err := checkSpace(filepath.Dir(path), before.usedBytes()); err != nil {
		return r, fmt.Errorf("compact %s: %w", path, err)
	}
	id, err := s.beginRun(ctx, RunInfo{Report: CompactReport, Trigger: runlog.Compact})
	if err != nil {
		return r, fmt.Errorf("compact %s: %w", path, err)
	}
	r.RunID = id
	// The run's row goes into the file: the log must be empty when the
	// file is replaced.
	_, err = s.conn.ExecContext(ctx, "CHECKPOINT")
	var lock *os.File
	if err == nil {
		s.log.Debug("compaction: copying", zap.String("from", path), zap.String("to", tmp))
		lock, err = s.copyTo(ctx, tmp)
	}
	if err != nil {
		err = fmt.Errorf("compact %s: %w", path, err)
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK") // as in copyTo
		errs := []error{err, removeCompactFiles(tmp)}
		if ferr := s.finishRun(ctx, id, runlog.Failed, Counters{}, err.Error()); ferr != nil {
			errs = append(errs, ferr)
		}
		return r, errors.Join(errs...)
	}
	if err := s.replaceWith(ctx, tmp, lock); err != nil {
		err = fmt.Errorf("compact %s: %w", path, err)
		if s.conn != nil { // not renamed: the original is open
			if ferr := s.finishRun(ctx, id, runlog.Failed, Counters{}, err.Error()); ferr != nil {
				err = errors.Join(err, ferr)
			}
		}
		return r, err
	}
	r.Replaced = true
	s.log.Debug("compaction: renamed and reopened", zap.String("path", path))
	if err := s.finishRun(ctx, id, runlog.Success, Counters{}, ""); err != nil {
		return r, fmt.Errorf("compact %s: %w", path, err)
	}
	if _, err := s.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return r, fmt.Errorf("compact %s: checkpoint the compacted file: %w", path, err)
	}
	if r.After, err = s.fileSize(ctx); err != nil {
		return r, err
	}
	r.Duration = time.Since(start)
	return r, nil
}

// copyTo copies the database into a new file at tmp, checks that every
// table has the same rows there, makes it durable and takes the lock of
// the new file, which the caller closes (or keeps: replaceWith). The caller
// holds s.mu and has checkpointed.
func (s *Store) copyTo(ctx context.Context, tmp string) (*os.File, error) {
	var cur string
	if err := s.conn.QueryRowContext(ctx, "SELECT current_database()").Scan(&cur); err != nil {
		return nil, fmt.Errorf("name of the database: %w", err)
	}
	if _, err := s.conn.ExecContext(ctx, "ATTACH "+quoteString(tmp)+" AS "+compactAlias); err != nil {
		return nil, fmt.Errorf("create %s: %w", tmp, err)
	}
	copied := func() error {
		if _, err := s.conn.ExecContext(ctx, "COPY FROM DATABASE "+quoteIdent(cur)+" TO "+compactAlias); err != nil {
			return fmt.Errorf("copy into %s: %w%s", tmp, err, s.oomHint(err))
		}
		s.log.Debug("compaction: copied", zap.String("to", tmp))
		if err := s.sameContents(ctx, cur, compactAlias); err != nil {
			return fmt.Errorf("check the copy %s: %w", tmp, err)
		}
		s.log.Debug("compaction: copy checked", zap.String("to", tmp))
		if _, err := s.conn.ExecContext(ctx, "CHECKPOINT "+compactAlias); err != nil {
			return fmt.Errorf("checkpoint %s: %w", tmp, err)
		}
		s.log.Debug("compaction: copy checkpointed", zap.String("to", tmp))
		return nil
	}()
	if copied != nil {
		// A statement interrupted (a cancelled ctx) can leave the
		// connection in an aborted transaction, which refuses everything
		// until a ROLLBACK; without one, "no transaction is active".
		_, _ = s.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	}
	// DETACH with a fresh context: the file must not stay attached.
	if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), "DETACH "+compactAlias); err != nil {
		return nil, errors.Join(copied, fmt.Errorf("detach %s: %w", tmp, err))
	}
	if copied != nil {
		return nil, copied
	}
	for _, wal := range []string{tmp + ".wal", s.opts.Path + ".wal"} {
		// After the checkpoints neither file has a log; one left over would
		// be replayed into the wrong file.
		if st, err := os.Stat(wal); err == nil && st.Size() > 0 {
			return nil, fmt.Errorf("%s is not empty after a checkpoint (%d bytes)", wal, st.Size())
		}
	}
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open the copy: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, errors.Join(fmt.Errorf("sync %s: %w", tmp, err), f.Close())
	}
	s.log.Debug("compaction: copy synced to disk", zap.String("to", tmp))
	// The new file is locked before it takes the name, so no other process
	// can open it before this one does (DuckDB's lock is the same POSIX
	// record lock, owned by the process).
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: io.SeekStart}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		return nil, errors.Join(fmt.Errorf("lock %s: %w", tmp, err), f.Close())
	}
	return f, nil
}

// sameContents compares the tables, views, sequences and constraints of
// two attached databases and the row counts of every table.
func (s *Store) sameContents(ctx context.Context, a, b string) error {
	catalog := func(db string) (map[string]int64, error) {
		out, counts, err := s.catalogOf(ctx, db)
		if err != nil {
			return nil, err
		}
		for name, q := range counts {
			var n int64
			if err := s.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
				return nil, err
			}
			out[name] = n
		}
		return out, nil
	}
	want, err := catalog(a)
	if err != nil {
		return err
	}
	got, err := catalog(b)
	if err != nil {
		return err
	}
	for name, n := range want {
		m, ok := got[name]
		switch {
		case !ok:
			return fmt.Errorf("%s is missing", name)
		case m != n:
			return fmt.Errorf("%s has %d rows, not %d", name, m, n)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("the copy has %d objects, the original %d", len(got), len(want))
	}
	return nil
}

// catalogOf names the tables, views, sequences and constraints of the
// attached database db, and gives each table's count query.
func (s *Store) catalogOf(ctx context.Context, db string) (map[string]int64, map[string]string, error) {
	rows, err := s.conn.QueryContext(ctx, `SELECT 'table ' || schema_name || '.' || table_name, schema_name, table_name FROM duckdb_tables() WHERE database_name = ?
		UNION ALL SELECT 'view ' || schema_name || '.' || view_name, NULL, NULL FROM duckdb_views() WHERE database_name = ? AND NOT internal
		UNION ALL SELECT 'sequence ' || schema_name || '.' || sequence_name, NULL, NULL FROM duckdb_sequences() WHERE database_name = ?
		UNION ALL SELECT 'constraint ' || schema_name || '.' || table_name || ' ' || constraint_type || ' ' || constraint_text, NULL, NULL
			FROM duckdb_constraints() WHERE database_name = ?`, db, db, db, db)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	names, counts := map[string]int64{}, map[string]string{}
	for rows.Next() {
		var name string
		var sch, tbl sql.NullString
		if err := rows.Scan(&name, &sch, &tbl); err != nil {
			return nil, nil, err
		}
		names[name] = -1
		if sch.Valid {
			counts[name] = "SELECT count(*) FROM " + quoteIdent(db) + "." + qualified(sch.String, tbl.String)
		}
	}
	return names, counts, rows.Err()
}

// replaceWith renames the compacted file over the database and reopens the
// store on it. Before the rename, an error leaves everything as it was;
// after it, the store is closed and the error says so. The caller holds
// s.mu.
func (s *Store) replaceWith(ctx context.Context, tmp string, lock *os.File) error {
	path := s.opts.Path
	if err := os.Rename(tmp, path); err != nil {
		return errors.Join(fmt.Errorf("replace the database with %s: %w", tmp, err), lock.Close(), removeCompactFiles(tmp))
	}
	errs := []error{syncDir(filepath.Dir(path))}
	// The old file's connection closes; the new one's lock is held by
	// lock meanwhile.
	errs = append(errs, s.conn.Close(), s.db.Close(), s.connector.Close())
	s.conn, s.db, s.connector = nil, nil, nil
	if s.lockFile != nil {
		errs = append(errs, s.lockFile.Close())
	}
	s.lockFile = lock
	if err := errors.Join(errs...); err != nil {
		s.log.Warn("closing the database before compaction", zap.Error(err))
	}
	connector, err := openWithLockWait(ctx, s.opts)
	if err != nil {
		return fmt.Errorf("the database was compacted, but reopening it failed (the file is complete; the next open uses it): %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		return errors.Join(fmt.Errorf("the database was compacted, but reopening it failed (the file is complete; the next open uses it): %w", err),
			db.Close(), connector.Close())
	}
	s.connector, s.db, s.conn = connector, db, conn
	s.cat = nil // the copy's catalog, read when next needed
	return nil
}

// removeCompactFiles removes what a compaction that did not finish left.
func removeCompactFiles(tmp string) error {
	var errs []error
	for _, p := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// checkSpace fails with ErrCompactSpace when dir's file system has less than
// need bytes available.
func checkSpace(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	avail := int64(st.Bavail) * st.Bsize //nolint:gosec // block counts fit
	if avail < need {
		return fmt.Errorf("%w: %d bytes needed in %s, %d available", ErrCompactSpace, need, dir, avail)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return errors.Join(d.Sync(), d.Close())
}
