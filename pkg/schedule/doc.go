// Package schedule starts runs: the cron of each config generation
// (Scheduler), the Pool that outlives a reload (no job overlaps itself, one
// database handle shared by concurrent runs and closed between them) and
// job-level retries of the reports that failed with a temporary error
// (pipeline.Temporary). What one run of one report does is pkg/pipeline.
package schedule
