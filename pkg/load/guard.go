package load

import (
	"context"

	"github.com/closesync/closesync/pkg/schema"
)

// StoredRows is how many live rows (not marked deleted) of organization
// org table t holds now, 0 when it does not exist yet. Before a replace that read nothing
// is swapped in, the runner asks it whether that would empty a table that
// has rows (see pipeline.Runner).
func (s *Store) StoredRows(ctx context.Context, t schema.Table, org string) (int64, error) {
	n, err := s.Tally(ctx, t, org, "")
	return n.Rows, err
}
