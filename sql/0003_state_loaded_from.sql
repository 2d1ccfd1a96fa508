-- The start each report's loaded range begins at: the start_date its first
-- load read from, moved earlier by backfills. A start_date configured
-- earlier than this is backfilled (pkg/schedule/backfill.go). NULL on files
-- written before this column: the next run records the configured start.
ALTER TABLE sync.state ADD COLUMN IF NOT EXISTS loaded_from TIMESTAMPTZ;
