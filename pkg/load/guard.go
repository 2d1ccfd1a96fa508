package load

import (
	"context"
	"fmt"

	"github.com/closesync/closesync/pkg/schema"
)

// StoredRows is how many live rows (not marked deleted) of organization
// org table t holds now, 0 when it does not exist yet. Before a replace that read nothing
// is swapped in, the runner asks it whether that would empty a table that
// has rows (see pipeline.Runner).
func (s *Store) StoredRows(ctx context.Context, t schema.Table, org string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.tableNames(ctx)
	if err != nil {
		return 0, err
	}
	if !tables[t.Name] {
		return 0, nil
	}
	var n int64
	q := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s IS NULL AND %s", qualified(s.schema, t.Name), quoteIdent(schema.ColDeleted), orgIs("", org))
	if err := s.conn.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the rows of %s: %w", t.Name, err)
	}
	return n, nil
}
