package load

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/schema"
)

// Tally is what the database holds of one table for one organization: its
// live rows (no _deleted_at) and the newest value of a timestamp column
// (the field its incremental reads filter on) among them.
type Tally struct {
	Rows int64
	// Newest is the newest value of the column among the live rows; zero
	// when the table has no such timestamp column or no live row.
	Newest time.Time
}

// Tally counts the organization's live rows of t and finds their newest
// value of column (empty: t's Order column), for closesync verify. A table
// not created yet holds none.
func (s *Store) Tally(ctx context.Context, t schema.Table, org, column string) (Tally, error) {
	if column == "" {
		column = t.Order
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.tableNames(ctx)
	if err != nil {
		return Tally{}, err
	}
	if !tables[t.Name] {
		return Tally{}, nil
	}
	newest := "NULL::TIMESTAMPTZ"
	if c, ok := t.Column(column); ok && c.Type == schema.Timestamp {
		newest = "max(" + quoteIdent(c.Name) + ")"
	}
	q := fmt.Sprintf("SELECT count(*), %s FROM %s WHERE %s IS NULL AND %s", newest, qualified(s.schema, t.Name),
		quoteIdent(schema.ColDeleted), orgIs("", org))
	var out Tally
	var at sql.NullTime
	if err := s.conn.QueryRowContext(ctx, q).Scan(&out.Rows, &at); err != nil {
		return Tally{}, fmt.Errorf("tally the rows of %s: %w", t.Name, err)
	}
	if at.Valid {
		out.Newest = at.Time.UTC()
	}
	return out, nil
}
