package load

import (
	"database/sql"
	"fmt"
)

// ScanAll reads every row of rows as one value per column (nil for NULL),
// with the column names: for result sets whose shape the caller does not
// know ahead, such as the demo's sample queries.
func ScanAll(rows *sql.Rows) (cols []string, out [][]any, err error) {
	cols, err = rows.Columns()
	if err != nil {
		return nil, nil, fmt.Errorf("result columns: %w", err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, fmt.Errorf("scan row %d: %w", len(out)+1, err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return cols, out, nil
}
