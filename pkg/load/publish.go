package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/closesync/closesync/pkg/bytesize"
	"github.com/closesync/closesync/pkg/runlog"
)

// Parquet publishing writes every table of the data schema (and the views
// closesync made there) as Parquet into a directory other engines read
// without the database's lock. The directory's layout:
//
//	DIR/_manifest.json                    written last, by a rename
//	DIR/leads -> .closesync/leads/run-42  a symlink per table, swapped by a rename
//	DIR/.closesync/leads/run-42/date_created_month=2025-01/leads-42-0.parquet
//	DIR/.closesync/users/run-42/users-42.parquet
//	DIR/.closesync.lock                   held while a process publishes
//
// A version directory is named after the publish's run and its files carry
// the run id too, so a path resolves to one version's file or to nothing:
// a reader that listed DIR/leads/** before a swap and opens a file after it
// fails on a missing file instead of reading a mix of two versions. Every
// new version is written and synced before the first symlink is swapped;
// the old versions are removed only after the new manifest is in place, so
// the manifest always names files that exist. A process killed at any
// instant leaves each symlink on a complete version (old or new) and the
// manifest on the versions it names; the next publish removes what is
// neither linked nor in the manifest.

// PublishReport is the report name of a publish's row in sync.runs, whose
// trigger is runlog.Publish: like a compaction it concerns the database.
const PublishReport = CompactReport

// ManifestName is the manifest's file name in the publish directory, and
// ManifestVersion its format_version.
const (
	ManifestName    = "_manifest.json"
	ManifestVersion = 1
)

// PartitionColumn is the hive partition key of a partitioned table: the
// UTC month of its date_created, YYYY-MM (in the directory names only).
const PartitionColumn = "date_created_month"

const (
	versionsDir = ".closesync"      // the version directories, hidden from Spark and Hive listings
	lockName    = ".closesync.lock" // the lock of a publishing process
	linkTemp    = ".link-"          // DIR/.<table>.link-<run>: a symlink before its rename
	manifestTmp = "." + ManifestName + ".tmp-"
)

// publishName is what a published table or view may be called: it names a
// directory. closesync's own names all match it.
var publishName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// ParquetOptions configure PublishParquet.
type ParquetOptions struct {
	// Dir is the publish directory; its parent must exist.
	Dir string
	// PartitionAbove is the row count above which a table or view with a
	// date_created timestamp is partitioned by its month.
	PartitionAbove int64
	// Views also publishes the views closesync made in the data schema.
	Views bool
	// Generator names the program in the manifest, e.g. "closesync v1.2.0".
	Generator string
	// BeforeSwap, when set, is called once every new version is written and
	// before the first symlink is swapped, and BeforeManifest once every
	// link is swapped and before the manifest is written (tests).
	BeforeSwap, BeforeManifest func()
}

// Manifest is _manifest.json: what the directory holds, written after every
// table of a publish is in place.
type Manifest struct {
	FormatVersion int    `json:"format_version"`
	Generator     string `json:"generator"`
	// RunID is the publish's own row in sync.runs (trigger publish).
	RunID int64 `json:"run_id"`
	// DataRunID is the newest run that succeeded before it (a sync run of
	// any report): the files hold what the database held after it.
	DataRunID   int64            `json:"data_run_id"`
	PublishedAt time.Time        `json:"published_at"`
	Schema      string           `json:"schema"`
	Tables      []PublishedTable `json:"tables"`
}

// PublishedTable is one table or view of a manifest. Paths are relative to
// the publish directory, with forward slashes.
type PublishedTable struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // table or view
	Rows int64  `json:"rows"`
	// Bytes is the size of its files.
	Bytes int64 `json:"bytes"`
	// Path is its symlink, the stable name: read Path/**/*.parquet.
	Path string `json:"path"`
	// Version is the directory Path links to; Files are its files, the
	// same for every reader of this manifest.
	Version string   `json:"version"`
	Files   []string `json:"files"`
	// PartitionedBy names the hive partition keys ([date_created_month]),
	// which are in the directory names and not in the files.
	PartitionedBy []string          `json:"partitioned_by,omitempty"`
	Columns       []PublishedColumn `json:"columns"`
}

// PublishedColumn is a column of a published table: its DuckDB type in the
// database and the Parquet type written (physical type, then the logical
// annotation after a slash, e.g. BYTE_ARRAY/JSON, INT64/TIMESTAMP_MICROS).
type PublishedColumn struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Parquet string `json:"parquet"`
}

// PublishResult describes a publish.
type PublishResult struct {
	Manifest Manifest
	Rows     int64 // of every table
	Bytes    int64 // of every file
	Duration time.Duration
}

// ReadManifest reads the manifest of the publish directory dir.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	return m, nil
}

// PublishParquet writes every table of the data schema (with o.Views, every
// view closesync made there too) into o.Dir as Parquet, each swapped in
// whole, then the manifest. It is a run of its own in sync.runs (report
// database, trigger publish), recorded failed with the error when it
// fails; it changes no other row. On an error the directory keeps the
// previous publish: the new files are removed, and a table already swapped
// keeps its new version beside the old one the manifest still names. Writes
// wait for it to end.
func (s *Store) PublishParquet(ctx context.Context, o ParquetOptions) (PublishResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := time.Now()
	if s.readOnly {
		return PublishResult{}, errors.New("publish: the database is open read-only")
	}
	id, err := s.beginRun(ctx, RunInfo{Report: PublishReport, Trigger: runlog.Publish})
	if err != nil {
		return PublishResult{}, fmt.Errorf("publish parquet to %s: %w", o.Dir, err)
	}
	r, err := s.publishParquet(ctx, id, o)
	if err != nil {
		err = fmt.Errorf("publish parquet to %s: %w", o.Dir, err)
		if ferr := s.finishRun(ctx, id, runlog.Failed, Counters{}, err.Error()); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return r, err
	}
	if err := s.finishRun(ctx, id, runlog.Success, Counters{}, ""); err != nil {
		return r, fmt.Errorf("publish parquet to %s: %w", o.Dir, err)
	}
	r.Duration = time.Since(start)
	return r, nil
}

// publishSource is a table or view to publish.
type publishSource struct {
	name string
	view bool
	cols []PublishedColumn // with Type only
	// partitionable: it has a date_created timestamp and no column named
	// PartitionColumn.
	partitionable bool
}

func (s *Store) publishParquet(ctx context.Context, id int64, o ParquetOptions) (PublishResult, error) {
	var r PublishResult
	dir := o.Dir
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return r, err
	}
	if st, err := os.Stat(dir); err != nil {
		return r, err
	} else if !st.IsDir() {
		return r, fmt.Errorf("%s is not a directory", dir)
	}
	unlock, err := lockPublishDir(dir)
	if err != nil {
		return r, err
	}
	defer unlock()
	if err := os.MkdirAll(filepath.Join(dir, versionsDir), 0o755); err != nil {
		return r, err
	}
	if err := removeLeftovers(dir); err != nil {
		return r, fmt.Errorf("remove what an earlier publish left: %w", err)
	}
	sources, err := s.publishSources(ctx, o.Views)
	if err != nil {
		return r, err
	}
	for _, src := range sources {
		if err := checkLinkPath(dir, src.name); err != nil {
			return r, err
		}
	}
	m := Manifest{FormatVersion: ManifestVersion, Generator: o.Generator, RunID: id, Schema: s.schema}
	if err := s.conn.QueryRowContext(ctx, `SELECT coalesce(max(run_id), 0) FROM sync.runs WHERE run_id < ? AND status = ?
		AND trigger NOT IN (?, ?, ?)`, id, runlog.Success, runlog.Publish, runlog.Compact, runlog.Verify).Scan(&m.DataRunID); err != nil {
		return r, fmt.Errorf("read run history: %w", err)
	}
	version := fmt.Sprintf("run-%d", id)
	restore, err := s.publishEngine(ctx)
	if err != nil {
		return r, err
	}
	defer restore()
	// Every table is read in one transaction, so the files agree with each
	// other as the database did (nothing else writes while s.mu is held,
	// but a transaction says so to DuckDB too).
	err = s.inTx(ctx, func() error {
		for _, src := range sources {
			t, err := s.writeParquet(ctx, dir, version, id, src, o.PartitionAbove)
			if err != nil {
				return fmt.Errorf("%s %s.%s: %w", kind(src.view), s.schema, src.name, err)
			}
			m.Tables = append(m.Tables, t)
			r.Rows += t.Rows
			r.Bytes += t.Bytes
		}
		return nil
	})
	if err != nil {
		// Nothing is linked to the new versions yet.
		for _, src := range sources {
			v := filepath.Join(dir, versionsDir, src.name, version)
			err = errors.Join(err, removeAll(v), removeAll(v+".parquet"))
		}
		return r, err
	}
	if o.BeforeSwap != nil {
		o.BeforeSwap()
	}
	for _, t := range m.Tables {
		if err := swapLink(dir, t.Name, t.Version, id); err != nil {
			return r, err
		}
	}
	if err := syncDir(dir); err != nil {
		return r, err
	}
	if o.BeforeManifest != nil {
		o.BeforeManifest()
	}
	m.PublishedAt = time.Now().UTC()
	if err := writeManifest(dir, m); err != nil {
		return r, err
	}
	r.Manifest = m
	if err := removeUnlisted(dir, m); err != nil {
		// The publish is complete: what is left is removed next time.
		s.log.Warn("published, but old versions were not all removed", zap.String("dir", dir), zap.Error(err))
	}
	return r, nil
}

// PublishMemoryLimit is the least memory_limit a publish runs with: the
// store's own limit when it is higher. The default, 64MB, is sized for a
// sync's batches; the COPY of the wide views (leads_custom) needs more, and
// at 256MB with one thread it never ran out at 20,000 leads with ten reports
// (README "Open files for the lakehouse").
const PublishMemoryLimit = "256MB"

// publishEngine sets DuckDB's threads to one and its memory_limit to at
// least PublishMemoryLimit for the publish's COPY statements and returns
// what sets them back. With two threads the COPY of leads_custom ran out of
// 256MB in every publish of a 20,000-lead organisation with ten reports (4
// of 4); with one it never did.
func (s *Store) publishEngine(ctx context.Context) (func(), error) {
	var threads int64
	var limit string
	if err := s.conn.QueryRowContext(ctx, "SELECT current_setting('threads'), current_setting('memory_limit')").Scan(&threads, &limit); err != nil {
		return nil, fmt.Errorf("read threads and memory_limit: %w", err)
	}
	set := []string{"SET threads = 1"}
	back := []string{fmt.Sprintf("SET threads = %d", threads)}
	if have, ok := bytesize.Parse(s.memoryLimit); ok {
		if floor, _ := bytesize.Parse(PublishMemoryLimit); have < floor {
			set = append(set, fmt.Sprintf("SET memory_limit = '%s'", PublishMemoryLimit))
			back = append(back, fmt.Sprintf("SET memory_limit = '%s'", limit))
		}
	}
	for _, q := range set {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			return nil, errors.Join(fmt.Errorf("%s: %w", q, err), s.setBack(ctx, back))
		}
	}
	return func() {
		if err := s.setBack(ctx, back); err != nil {
			s.log.Warn("DuckDB's settings not set back after a publish", zap.Error(err))
		}
	}, nil
}

// setBack runs the statements that restore the settings a publish changed.
func (s *Store) setBack(ctx context.Context, back []string) error {
	var errs []error
	for _, q := range back {
		if _, err := s.conn.ExecContext(context.WithoutCancel(ctx), q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q, err))
		}
	}
	return errors.Join(errs...)
}

func kind(view bool) string {
	if view {
		return "view"
	}
	return "table"
}

// publishSources lists the tables of the data schema and, with views, the
// views closesync made there (sync.views), with their columns, by name.
func (s *Store) publishSources(ctx context.Context, views bool) ([]publishSource, error) {
	q := `SELECT table_name, false FROM duckdb_tables() WHERE schema_name = ? AND database_name = current_database() AND NOT temporary`
	args := []any{s.schema}
	if views {
		q += ` UNION ALL SELECT v.view_name, true FROM duckdb_views() v JOIN sync.views m ON m.schema_name = v.schema_name AND m.view_name = v.view_name
			WHERE v.schema_name = ? AND v.database_name = current_database() AND NOT v.internal`
		args = append(args, s.schema)
	}
	var out []publishSource
	err := s.eachRow(ctx, q+` ORDER BY 1`, args, func(scan func(...any) error) error {
		var src publishSource
		if err := scan(&src.name, &src.view); err != nil {
			return err
		}
		if !publishName.MatchString(src.name) {
			s.log.Warn("not published: its name is not a directory name closesync writes", zap.String("name", src.name))
			return nil
		}
		out = append(out, src)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the tables of %s: %w", s.schema, err)
	}
	byName := map[string]*publishSource{}
	for i := range out {
		byName[out[i].name] = &out[i]
	}
	err = s.eachRow(ctx, `SELECT table_name, column_name, data_type FROM duckdb_columns()
		WHERE schema_name = ? AND database_name = current_database() ORDER BY table_name, column_index`, []any{s.schema},
		func(scan func(...any) error) error {
			var table string
			var c PublishedColumn
			if err := scan(&table, &c.Name, &c.Type); err != nil {
				return err
			}
			if src := byName[table]; src != nil {
				src.cols = append(src.cols, c)
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("list the columns of %s: %w", s.schema, err)
	}
	for i := range out {
		hasDate, clash := false, false
		for _, c := range out[i].cols {
			switch c.Name {
			case "date_created":
				hasDate = c.Type == "TIMESTAMP WITH TIME ZONE" || c.Type == "TIMESTAMP" || c.Type == "DATE"
			case PartitionColumn:
				clash = true
			}
		}
		out[i].partitionable = hasDate && !clash
	}
	return out, nil
}

// writeParquet writes one table or view as the new version of its
// directory, synced to disk, and describes it. A table is counted first,
// so it is written partitioned or not in one pass; a view (whose query may
// be costly, a child view parses its parent's JSON) is written once as a
// file and, when it has more rows than the threshold, rewritten
// partitioned from that file.
func (s *Store) writeParquet(ctx context.Context, dir, version string, id int64, src publishSource, above int64) (PublishedTable, error) {
	t := PublishedTable{Name: src.name, Kind: kind(src.view), Path: src.name,
		Version: filepath.ToSlash(filepath.Join(versionsDir, src.name, version)), Columns: src.cols}
	vdir := filepath.Join(dir, versionsDir, src.name, version)
	from := qualified(s.schema, src.name)
	base := fmt.Sprintf("%s-%d", src.name, id)
	partitioned := false
	if !src.view && src.partitionable {
		var n int64
		if err := s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+from).Scan(&n); err != nil {
			return t, fmt.Errorf("count: %w%s", err, s.oomHint(err))
		}
		partitioned = n > above
	}
	if err := os.MkdirAll(filepath.Dir(vdir), 0o755); err != nil {
		return t, err
	}
	switch {
	case partitioned:
		if err := s.copyPartitioned(ctx, "SELECT * FROM "+from, vdir, base); err != nil {
			return t, err
		}
	case src.view && src.partitionable:
		// Written once beside the version directory, then moved in or
		// rewritten partitioned.
		single := vdir + ".parquet"
		if err := s.copyFile(ctx, "SELECT * FROM "+from, single); err != nil {
			return t, err
		}
		var n int64
		if err := s.conn.QueryRowContext(ctx, "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata("+quoteString(single)+")").Scan(&n); err != nil {
			return t, fmt.Errorf("read back %s: %w", single, err)
		}
		if n > above {
			partitioned = true
			err := s.copyPartitioned(ctx, "SELECT * FROM read_parquet("+quoteString(single)+")", vdir, base)
			if err := errors.Join(err, os.Remove(single)); err != nil {
				return t, err
			}
		} else {
			if err := os.Mkdir(vdir, 0o755); err != nil {
				return t, err
			}
			if err := os.Rename(single, filepath.Join(vdir, base+".parquet")); err != nil {
				return t, err
			}
		}
	default:
		if err := os.Mkdir(vdir, 0o755); err != nil {
			return t, err
		}
		if err := s.copyFile(ctx, "SELECT * FROM "+from, filepath.Join(vdir, base+".parquet")); err != nil {
			return t, err
		}
	}
	if partitioned {
		t.PartitionedBy = []string{PartitionColumn}
	}
	files, bytes, err := syncTree(vdir)
	if err == nil {
		err = syncDir(filepath.Dir(vdir))
	}
	if err != nil {
		return t, err
	}
	if len(files) == 0 {
		return t, fmt.Errorf("no file was written in %s", vdir)
	}
	t.Bytes = bytes
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return t, err
		}
		t.Files = append(t.Files, filepath.ToSlash(rel))
	}
	// The footers say how many rows the files hold and that they are whole;
	// the first file's schema gives the Parquet types.
	list := make([]string, len(files))
	for i, f := range files {
		list[i] = quoteString(f)
	}
	if err := s.conn.QueryRowContext(ctx, "SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(["+strings.Join(list, ", ")+"])").Scan(&t.Rows); err != nil {
		return t, fmt.Errorf("read back %s: %w", vdir, err)
	}
	if err := s.parquetTypes(ctx, files[0], t.Columns); err != nil {
		return t, fmt.Errorf("read back %s: %w", files[0], err)
	}
	return t, nil
}

// parquetOptions are the COPY options of every file: zstd (read by Spark,
// Trino, BigQuery, Athena, DuckDB), and row groups cut at 16 MB. DuckDB's
// default, 122,880 rows, was a row group of 100 MB of the leads' _raw at
// 20,000 leads, which did not fit the default memory_limit (256MB); at
// 32 MB one publish in eight still ran out of it writing leads_contacts
// (README "Open files for the lakehouse").
const parquetOptions = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE_BYTES '16MB'"

func (s *Store) copyFile(ctx context.Context, query, path string) error {
	if _, err := s.conn.ExecContext(ctx, "COPY ("+query+") TO "+quoteString(path)+" ("+parquetOptions+")"); err != nil {
		return fmt.Errorf("write %s: %w%s", path, err, s.oomHint(err))
	}
	return nil
}

// copyPartitioned writes query's rows under dir (which must not exist) in
// one directory per month of date_created, each file named base-<i>. DuckDB
// names the directory of a NULL date_created __HIVE_DEFAULT_PARTITION__,
// as Hive, Spark and Trino do, and reads it back as NULL.
func (s *Store) copyPartitioned(ctx context.Context, query, dir, base string) error {
	month := fmt.Sprintf("strftime(date_created, '%%Y-%%m') AS %s", quoteIdent(PartitionColumn))
	q := fmt.Sprintf("COPY (SELECT *, %s FROM (%s)) TO %s (%s, PARTITION_BY (%s), FILENAME_PATTERN %s)",
		month, query, quoteString(dir), parquetOptions, quoteIdent(PartitionColumn), quoteString(base+"-{i}"))
	if _, err := s.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("write %s: %w%s", dir, err, s.oomHint(err))
	}
	return nil
}

// parquetTypes fills the Parquet type of each column from file's schema.
func (s *Store) parquetTypes(ctx context.Context, file string, cols []PublishedColumn) error {
	type node struct {
		name, physical, converted string
		children                  int
	}
	var nodes []node
	err := s.eachRow(ctx, "SELECT name, coalesce(type, ''), coalesce(converted_type, ''), coalesce(num_children, 0) FROM parquet_schema("+quoteString(file)+")",
		nil, func(scan func(...any) error) error {
			var n node
			if err := scan(&n.name, &n.physical, &n.converted, &n.children); err != nil {
				return err
			}
			nodes = append(nodes, n)
			return nil
		})
	if err != nil {
		return err
	}
	if len(nodes) == 0 {
		return errors.New("no schema")
	}
	// The rows are the schema tree depth first: the root, then each
	// top-level column followed by its descendants.
	top := map[string]string{}
	var skip func(i int) int // the index after node i's subtree
	skip = func(i int) int {
		next := i + 1
		for range nodes[i].children {
			if next >= len(nodes) {
				return next
			}
			next = skip(next)
		}
		return next
	}
	for i := 1; i < len(nodes); i = skip(i) {
		n := nodes[i]
		t := n.physical
		switch {
		case t == "":
			t = n.converted // a group: LIST, MAP, or a struct (no annotation)
			if t == "" {
				t = "GROUP"
			}
		case n.converted != "":
			t += "/" + n.converted
		}
		top[n.name] = t
	}
	for i := range cols {
		cols[i].Parquet = top[cols[i].Name]
	}
	return nil
}

// lockPublishDir takes the publish directory's lock, so that two processes
// (two daemons configured with one directory) never publish into it at
// once; the returned func releases it.
func lockPublishDir(dir string) (func(), error) {
	path := filepath.Join(dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil { //nolint:gosec // a file descriptor fits an int
		_ = f.Close() // only locked, never written
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another process is publishing into %s (it holds %s): give each database a directory of its own", dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}

// checkLinkPath refuses to publish a table whose name in dir is taken by
// something closesync did not make.
func checkLinkPath(dir, name string) error {
	path := filepath.Join(dir, name)
	if _, ok, err := ownLink(path); err != nil || ok {
		return err
	}
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return fmt.Errorf("%s is in the way: it is not a link to a version closesync published (move it away, or publish into another directory)", path)
}

// ownLink reads path as a symlink to a version directory of the publish
// directory; ok is false when it is anything else (or nothing).
func ownLink(path string) (target string, ok bool, err error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return "", false, nil
	}
	target, err = os.Readlink(path)
	if err != nil {
		return "", false, err
	}
	return target, strings.HasPrefix(target, versionsDir+"/"), nil
}

// swapLink points dir/name at the version directory by renaming a new
// symlink over it: a reader resolves the old version or the new one.
func swapLink(dir, name, version string, id int64) error {
	tmp := filepath.Join(dir, fmt.Sprintf(".%s%s%d", name, linkTemp, id))
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Symlink(version, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return errors.Join(fmt.Errorf("swap in %s: %w", filepath.Join(dir, name), err), os.Remove(tmp))
	}
	return nil
}

// writeManifest writes m to a temporary file in dir, synced, and renames it
// over the manifest.
func writeManifest(dir string, m Manifest) (err error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, manifestTmp+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, os.Remove(f.Name()))
		}
	}()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	return syncDir(dir)
}

// removeLeftovers removes what a publish that did not finish left in dir:
// temporary links and manifests, and every version directory (or file) that
// neither a link nor the manifest names.
func removeLeftovers(dir string) error {
	keep := map[string]bool{}
	if m, err := ReadManifest(dir); err == nil {
		for _, t := range m.Tables {
			keep[filepath.FromSlash(t.Version)] = true
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err // never remove what an unreadable manifest might name
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") && (strings.Contains(e.Name(), linkTemp) || strings.HasPrefix(e.Name(), manifestTmp)) {
			errs = append(errs, removeAll(path))
			continue
		}
		if target, ok, err := ownLink(path); err != nil {
			errs = append(errs, err)
		} else if ok {
			keep[filepath.FromSlash(target)] = true
		}
	}
	errs = append(errs, removeVersions(dir, func(rel string) bool { return keep[rel] }))
	return errors.Join(errs...)
}

// removeUnlisted removes, after a publish, the links of tables it did not
// publish and every version the manifest m does not name.
func removeUnlisted(dir string, m Manifest) error {
	keep := map[string]bool{}
	names := map[string]bool{}
	for _, t := range m.Tables {
		keep[filepath.FromSlash(t.Version)] = true
		names[t.Name] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if _, ok, err := ownLink(path); err != nil {
			errs = append(errs, err)
		} else if ok && !names[e.Name()] {
			errs = append(errs, os.Remove(path))
		}
	}
	errs = append(errs, syncDir(dir), removeVersions(dir, func(rel string) bool { return keep[rel] }))
	return errors.Join(errs...)
}

// removeVersions removes every entry of dir/.closesync/<table>/ whose path
// relative to dir keep refuses, and the table directories left empty.
func removeVersions(dir string, keep func(rel string) bool) error {
	root := filepath.Join(dir, versionsDir)
	tables, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, t := range tables {
		tdir := filepath.Join(root, t.Name())
		if !t.IsDir() {
			errs = append(errs, removeAll(tdir))
			continue
		}
		versions, err := os.ReadDir(tdir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		left := len(versions)
		for _, v := range versions {
			if keep(filepath.Join(versionsDir, t.Name(), v.Name())) {
				continue
			}
			if err := removeAll(filepath.Join(tdir, v.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			left--
		}
		if left == 0 {
			errs = append(errs, os.Remove(tdir))
		}
	}
	return errors.Join(errs...)
}

func removeAll(path string) error {
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

// syncTree fsyncs every file and directory under root and returns the
// Parquet files (sorted) and their total size.
func syncTree(root string) ([]string, int64, error) {
	var files []string
	var size int64
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return syncDir(path)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		if err := errors.Join(f.Sync(), f.Close()); err != nil {
			return fmt.Errorf("sync %s: %w", path, err)
		}
		if strings.HasSuffix(path, ".parquet") {
			files = append(files, path)
			size += info.Size()
		}
		return nil
	})
	slices.Sort(files)
	return files, size, err
}
