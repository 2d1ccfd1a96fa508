// Package parquettest reads Parquet files with parquet-go, a reader
// independent of DuckDB, for the tests of the files closesync publishes
// (publish.parquet). Only tests import it.
package parquettest

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// File is what parquet-go finds in one file.
type File struct {
	Path string
	// Columns are the top-level fields, in the file's order.
	Columns []string
	// NumRows is the rows the footer counts.
	NumRows int64
	// Rows holds the values of the columns asked for, one map per row (a
	// column missing from a row's map was not asked for); nil when none
	// was.
	Rows []map[string]parquet.Value
}

// Read opens each file and reads its footer and schema; with columns, it
// also reads every row, keeping the named top-level columns of a primitive
// type (a list or struct column cannot be asked for), and checks that the
// rows are as many as the footer says.
func Read(paths []string, columns ...string) ([]File, error) {
	out := make([]File, 0, len(paths))
	for _, p := range paths {
		f, err := readFile(p, columns)
		if err != nil {
			return nil, fmt.Errorf("parquet-go: %s: %w", p, err)
		}
		out = append(out, f)
	}
	return out, nil
}

func readFile(path string, columns []string) (File, error) {
	out := File{Path: path}
	osf, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer osf.Close() //nolint:errcheck // opened for reading only
	st, err := osf.Stat()
	if err != nil {
		return out, err
	}
	pf, err := parquet.OpenFile(osf, st.Size())
	if err != nil {
		return out, err
	}
	for _, f := range pf.Schema().Fields() {
		out.Columns = append(out.Columns, f.Name())
	}
	out.NumRows = pf.NumRows()
	if len(columns) == 0 {
		return out, nil
	}
	want := map[int]string{}
	for _, c := range columns {
		leaf, ok := pf.Schema().Lookup(c)
		if !ok {
			return out, fmt.Errorf("no column %q (columns: %v)", c, out.Columns)
		}
		want[leaf.ColumnIndex] = c
	}
	r := parquet.NewReader(pf)
	defer r.Close() //nolint:errcheck // a reader of a file opened for reading
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			m := make(map[string]parquet.Value, len(want))
			for _, v := range row {
				if name, ok := want[v.Column()]; ok {
					m[name] = v.Clone()
				}
			}
			out.Rows = append(out.Rows, m)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
	}
	if int64(len(out.Rows)) != pf.NumRows() {
		return out, fmt.Errorf("read %d rows, the footer says %d", len(out.Rows), pf.NumRows())
	}
	return out, nil
}
