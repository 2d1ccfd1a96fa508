package load

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/closesync/closesync/pkg/runlog"
)

// runColumns are the columns of sync.runs, in DESIGN.md's order, then
// organization_id (0002_organization.sql).
var runColumns = []string{"run_id", "job", "report", "account", "trigger", "started_at", "finished_at", "status",
	"rows_extracted", "rows_upserted", "rows_deleted", "requests", "retries", "error", "organization_id"}

// RunInfo describes a run being started.
type RunInfo struct {
	Job, Report, Account string
	Trigger              runlog.Trigger
	// Org is the organization of the account ("" when it could not be
	// told: the run then fails).
	Org string
}

// BeginRun records a running run and returns its id.
func (s *Store) BeginRun(ctx context.Context, info RunInfo) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beginRun(ctx, info)
}

// beginRun is BeginRun with s.mu held.
func (s *Store) beginRun(ctx context.Context, info RunInfo) (int64, error) {
	var id int64
	var org any
	if info.Org != "" {
		org = info.Org
	}
	err := s.conn.QueryRowContext(ctx, `INSERT INTO sync.runs (run_id, job, report, account, trigger, started_at, status, organization_id)
		VALUES (nextval('sync.run_id_seq'), ?, ?, ?, ?, now(), ?, ?) RETURNING run_id`,
		info.Job, info.Report, info.Account, info.Trigger, runlog.Running, org).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("begin run of %s/%s: %w", info.Job, info.Report, err)
	}
	return id, nil
}

// FinishRun sets a run's final status, counters and error message. It uses
// its own short context so that a cancelled run is still recorded.
func (s *Store) FinishRun(ctx context.Context, id int64, status runlog.Status, c Counters, errMsg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finishRun(ctx, id, status, c, errMsg)
}

// finishRun is FinishRun with s.mu held.
func (s *Store) finishRun(ctx context.Context, id int64, status runlog.Status, c Counters, errMsg string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var e any
	if errMsg != "" {
		e = errMsg
	}
	_, err := s.conn.ExecContext(ctx, `UPDATE sync.runs SET status = ?, finished_at = now(), requests = ?, retries = ?, error = ?
		WHERE run_id = ?`, status, c.Requests, c.Retries, e, id)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", id, err)
	}
	return nil
}

// AddDeleted adds n to a run's rows_deleted.
func (s *Store) AddDeleted(ctx context.Context, id int64, n int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.conn.ExecContext(ctx, "UPDATE sync.runs SET rows_deleted = rows_deleted + ? WHERE run_id = ?", n, id)
	return err
}

// Runs returns the most recent runs, newest first (without Err and
// Bookmark, which sync.runs does not hold).
func (s *Store) Runs(ctx context.Context, limit int) ([]runlog.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return queryRuns(ctx, s.conn, limit)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRuns(ctx context.Context, q queryer, limit int) ([]runlog.Run, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := q.QueryContext(ctx, `SELECT run_id, job, report, account, trigger, started_at, finished_at, status,
		rows_extracted, rows_upserted, rows_deleted, requests, retries, coalesce(error, ''), coalesce(organization_id, '')
		FROM sync.runs ORDER BY run_id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read run history: %w", err)
	}
	defer rows.Close()
	var out []runlog.Run
	for rows.Next() {
		var r runlog.Run
		var fin sql.NullTime
		if err := rows.Scan(&r.ID, &r.Job, &r.Report, &r.Account, &r.Trigger, &r.StartedAt, &fin, &r.Status,
			&r.RowsExtracted, &r.RowsUpserted, &r.RowsDeleted, &r.Requests, &r.Retries, &r.Error, &r.Org); err != nil {
			return nil, fmt.Errorf("read run history: %w", err)
		}
		if fin.Valid {
			t := fin.Time
			r.FinishedAt = &t
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Query runs a read-only query and hands the rows to fn while holding the
// store's connection, so no write interleaves with the read.
func (s *Store) Query(ctx context.Context, fn func(*sql.Rows) error, query string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := fn(rows); err != nil {
		return err
	}
	return rows.Err()
}

// LastSuccess is when the job's reports last all succeeded: the oldest of
// each report's newest successful finish. It is zero if any of them never
// succeeded.
func (s *Store) LastSuccess(ctx context.Context, job string, reports []string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest time.Time
	for _, r := range reports {
		t, err := s.lastSuccessAt(ctx, "finished_at", job, r)
		if err != nil || t.IsZero() {
			return time.Time{}, err
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	return oldest, nil
}

// lastSuccessAt is the newest column (started_at or finished_at) of the
// report's successful runs of the job; zero if none succeeded. The caller
// holds s.mu.
func (s *Store) lastSuccessAt(ctx context.Context, column, job, report string) (time.Time, error) {
	var t sql.NullTime
	err := s.conn.QueryRowContext(ctx, `SELECT max(`+column+`) FROM sync.runs WHERE job = ? AND report = ? AND status = ?`,
		job, report, runlog.Success).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("read the last success of %s/%s: %w", job, report, err)
	}
	return t.Time, nil
}

// UpdatedActivities lists the ids of the activities that "updated" events
// stored in eventTable since storedSince (by their _synced_at, so each
// event is seen by the first run after it landed, however late it was
// synced) report changed, of an object_type matching objectType (a LIKE
// pattern the catalog declares), and that were created before createdBefore,
// i.e. outside an incremental walk's window; typ narrows them to one
// activity _type ("" for all). An event is skipped when activityTable
// already holds a version at least as new as the edit it reports: the
// event's date_updated of the activity (data.date_updated; the event's
// own date_updated when Close kept no data) not after the stored row's
// date_updated. So the event log a first sync stores, which names edits
// the first sync has read already, costs no request. Only the events of the
// organization org count. Without the event table (the job does not sync
// event_log) there are none.
func (s *Store) UpdatedActivities(ctx context.Context, eventTable, activityTable, org, objectType, typ string, storedSince, createdBefore time.Time) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tables, err := s.orgTables(ctx)
	if err != nil {
		return nil, err
	}
	if !tables[eventTable] {
		return nil, nil
	}
	newer := ""
	if tables[activityTable] {
		newer = fmt.Sprintf(`AND NOT EXISTS (SELECT 1 FROM %s a WHERE a.id = e.object_id AND a.organization_id = e.organization_id
			AND coalesce(TRY_CAST(json_extract_string(e.data, '$.date_updated') AS TIMESTAMPTZ), e.date_updated) <= a.date_updated)`,
			qualified(s.schema, activityTable))
	}
	rows, err := s.conn.QueryContext(ctx, fmt.Sprintf(`SELECT DISTINCT object_id FROM %s e
		WHERE %s AND action = 'updated' AND object_type LIKE ? AND _synced_at >= ?
		AND (? = '' OR json_extract_string(data, '$._type') = ?)
		AND TRY_CAST(json_extract_string(data, '$.date_created') AS TIMESTAMPTZ) < ?
		%s
		ORDER BY 1`, qualified(s.schema, eventTable), orgIs("e", org), newer), objectType, storedSince, typ, typ, createdBefore)
	if err != nil {
		return nil, fmt.Errorf("read updated activities from %s: %w", eventTable, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// LastSuccessStart is when the report's last successful run of the job
// started; zero if it never succeeded.
func (s *Store) LastSuccessStart(ctx context.Context, job, report string) (time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSuccessAt(ctx, "started_at", job, report)
}
