package load

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/runlog"
	"github.com/closesync/closesync/pkg/schema"
)

// State operations: the bookmark (written by Apply with its batch), the
// start of the range a report has loaded (sync.state.loaded_from), and
// forgetting a report's state (closesync reset).

// Bookmark returns the stored state of (account, organization, report); ok
// is false before the first committed batch. A bookmark the account saved
// before closesync kept one per organization (empty organization_id) counts
// until the account saves its own; another organization's never does.
func (s *Store) Bookmark(ctx context.Context, account, org, report string) (schema.Bookmark, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var text string
	err := s.conn.QueryRowContext(ctx, `SELECT bookmark FROM sync.state WHERE account = ? AND report = ? AND organization_id IN (?, '')
		ORDER BY organization_id DESC LIMIT 1`, account, report, org).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Bookmark{}, false, nil
	}
	if err != nil {
		return schema.Bookmark{}, false, fmt.Errorf("read bookmark of %s/%s: %w", account, report, err)
	}
	b, err := schema.ParseBookmark(text)
	if err != nil {
		return schema.Bookmark{}, false, fmt.Errorf("read bookmark of %s/%s: %w", account, report, err)
	}
	return b, true, nil
}

// LoadedFrom returns the start of the range (account, report) has loaded,
// a bookmark at the other end of the loaded data; ok is false when there is
// no state row or none was recorded yet.
func (s *Store) LoadedFrom(ctx context.Context, account, report string) (schema.Bookmark, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t sql.NullTime
	err := s.conn.QueryRowContext(ctx, "SELECT loaded_from FROM sync.state WHERE account = ? AND report = ?", account, report).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return schema.Bookmark{}, false, nil
	}
	if err != nil {
		return schema.Bookmark{}, false, fmt.Errorf("read loaded_from of %s/%s: %w", account, report, err)
	}
	return schema.BookmarkAt(t.Time), t.Valid, nil
}

// SetLoadedFrom records from as the start of the range (account, report)
// has loaded. With onlyUnset a recorded value is kept. Without a state row
// (no batch committed yet) it does nothing and reports false.
func (s *Store) SetLoadedFrom(ctx context.Context, account, report string, from schema.Bookmark, onlyUnset bool) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := "UPDATE sync.state SET loaded_from = ? WHERE account = ? AND report = ?"
	if onlyUnset {
		q += " AND loaded_from IS NULL"
	}
	res, err := s.conn.ExecContext(ctx, q, from.Time().UTC(), account, report)
	if err != nil {
		return false, fmt.Errorf("record loaded_from of %s/%s: %w", account, report, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Reset is what ResetReport did.
type Reset struct {
	// Bookmark is the bookmark forgotten (zero when there was none).
	Bookmark schema.Bookmark
	// Dropped counts the rows deleted per table (with drop), the report's
	// table first, then its children.
	Dropped []TableRows
}

// TableRows is a table and a number of its rows.
type TableRows struct {
	Table string
	Rows  int64
}

// ResetReport forgets the state of (account, report), so that its next run
// reads from the start date, and with drop deletes every row of t, which
// empties its child views, all in one transaction. The tables stay (with their
// views); a table not created yet is skipped.
func (s *Store) ResetReport(ctx context.Context, account, report string, t schema.Table, drop bool) (Reset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out Reset
	tables, err := s.tableNames(ctx)
	if err != nil {
		return out, err
	}
	views, err := s.viewNames(ctx)
	if err != nil {
		return out, err
	}
	err = s.inTx(ctx, func() error {
		var text string
		err := s.conn.QueryRowContext(ctx, "DELETE FROM sync.state WHERE account = ? AND report = ? RETURNING bookmark",
			account, report).Scan(&text)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("forget the bookmark of %s/%s: %w", account, report, err)
		}
		// A bookmark that does not read as one is forgotten all the same.
		out.Bookmark, _ = schema.ParseBookmark(text)
		if !drop {
			return nil
		}
		if !tables[t.Name] {
			return nil
		}
		// The child views empty with their parent: count their rows first.
		// A child still a table (an older closesync's, until the report
		// next runs) is emptied itself.
		children := make([]TableRows, 0, len(t.Children))
		for _, ch := range t.Children {
			r := TableRows{Table: ch.Table.Name}
			var err error
			switch {
			case tables[ch.Table.Name]:
				r.Rows, err = s.deleteAll(ctx, ch.Table.Name)
			case views[ch.Table.Name]:
				err = s.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+qualified(s.schema, ch.Table.Name)).Scan(&r.Rows)
			default:
				continue
			}
			if err != nil {
				return fmt.Errorf("drop the rows of %s: %w", ch.Table.Name, err)
			}
			children = append(children, r)
		}
		n, err := s.deleteAll(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("drop the rows of %s: %w", t.Name, err)
		}
		out.Dropped = append(append(out.Dropped, TableRows{Table: t.Name, Rows: n}), children...)
		return nil
	})
	if err != nil {
		return Reset{}, fmt.Errorf("reset %s/%s: %w", account, report, err)
	}
	return out, nil
}

// deleteAll deletes every row of the data table and returns how many.
func (s *Store) deleteAll(ctx context.Context, table string) (int64, error) {
	res, err := s.conn.ExecContext(ctx, "DELETE FROM "+qualified(s.schema, table))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// SucceededBefore reports whether (account, report) had a successful run
// before run id: a state row without loaded_from is then from a file
// written before the column existed, not from a first load.
func (s *Store) SucceededBefore(ctx context.Context, account, report string, id int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	err := s.conn.QueryRowContext(ctx, `SELECT count(*) FROM sync.runs
		WHERE account = ? AND report = ? AND run_id < ? AND status = ?`, account, report, id, runlog.Success).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read the runs of %s/%s: %w", account, report, err)
	}
	return n > 0, nil
}

// Oldest returns the oldest value of a timestamp column of t among its
// rows; ok is false when the table or column does not exist or has none.
func (s *Store) Oldest(ctx context.Context, t schema.Table, column string) (time.Time, bool, error) {
	if c, ok := t.Column(column); !ok || c.Type != schema.Timestamp {
		return time.Time{}, false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.tableNames(ctx)
	if err != nil || !tables[t.Name] {
		return time.Time{}, false, err
	}
	var v sql.NullTime
	if err := s.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT min(%s) FROM %s", quoteIdent(column), qualified(s.schema, t.Name))).Scan(&v); err != nil {
		return time.Time{}, false, fmt.Errorf("oldest %s of %s: %w", column, t.Name, err)
	}
	return v.Time.UTC(), v.Valid, nil
}
