package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// DefaultPartitionAbove is publish.partition_above when unset: a table or
// view with a date_created column and more rows than this is published
// partitioned by month. Below it one file per table is better for every
// reader (a month of a small table would be a file of a few kilobytes).
const DefaultPartitionAbove = 100_000

// Publish is the publish section: open files written from the database
// after each run that wrote successfully, for other engines (Spark, Trino,
// BigQuery, MotherDuck, DuckDB) to read without the database's lock.
type Publish struct {
	// Parquet is the directory that receives every table (and, with Views,
	// every view closesync made) of the data schema as Parquet, with a
	// _manifest.json; empty: off. Relative to the config file's directory.
	Parquet string `koanf:"parquet"`
	// PartitionAbove is the row count above which a table or view with a
	// date_created column is partitioned by its month (hive-style
	// date_created_month=YYYY-MM directories); 0 partitions every such
	// table. Default DefaultPartitionAbove.
	PartitionAbove int `koanf:"partition_above"`
	// Views also publishes the views closesync made in the data schema
	// (the child views such as leads_contacts, the _custom views and the
	// starter views), each materialised as Parquet. Default true.
	Views bool `koanf:"views"`
}

// validate checks the publish section; with needs.Database (validate) the
// directory must be usable now.
func (p Publish) validate(v *validator, database string, needs Needs) {
	if p.PartitionAbove < 0 {
		v.add("publish.partition_above", "%d is negative: the rows above which a table with date_created is partitioned by month (0: every such table)", p.PartitionAbove)
	}
	if p.Parquet == "" {
		return
	}
	if filepath.Clean(p.Parquet) == filepath.Dir(filepath.Clean(database)) {
		v.add("publish.parquet", "%s is the database's directory: name a directory of its own, e.g. %s", p.Parquet, filepath.Join(p.Parquet, "parquet"))
		return
	}
	if needs.Database {
		if msg := checkWritableDir(p.Parquet); msg != "" {
			v.add("publish.parquet", "%s", msg)
		}
	}
}

// checkWritableDir returns what stops closesync from publishing into the
// directory dir, or "": an existing dir must be a directory that takes a new
// file; a missing one is created by the first publish, in a parent that
// must exist.
func checkWritableDir(dir string) string {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		pst, err := os.Stat(parent)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Sprintf("directory %s of %s does not exist: create it (the publish directory itself is created by the first publish)", parent, dir)
		case err != nil:
			return fmt.Sprintf("cannot use directory %s of %s: %v", parent, dir, unwrapPathError(err))
		case !pst.IsDir():
			return fmt.Sprintf("%s: %s is not a directory", dir, parent)
		}
		return probeDir(parent, dir)
	case err != nil:
		return fmt.Sprintf("cannot use %s: %v", dir, unwrapPathError(err))
	case !st.IsDir():
		return fmt.Sprintf("%s is not a directory: name a directory (closesync writes a directory per table in it)", dir)
	}
	return probeDir(dir, dir)
}

// probeDir tells whether a file can be created in dir, on behalf of target.
func probeDir(dir, target string) string {
	f, err := os.CreateTemp(dir, ".closesync-validate-*")
	if err != nil {
		return fmt.Sprintf("directory %s is not writable: %v (closesync publishes %s there)", dir, unwrapPathError(err), target)
	}
	// An empty probe: nothing to flush.
	_ = f.Close()
	_ = os.Remove(f.Name())
	return ""
}
