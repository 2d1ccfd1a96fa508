// Package schedule runs jobs: it turns each configured report into a run
// (a sync.runs row), streams the extractor's batches into the loader, and
// records the outcome. A failed report never stops the job's other reports.
//
// Outcomes: a cancelled context ends the run as "cancelled" (not an error);
// any other error ends it as "failed" with the error text, which never holds
// an API key (pkg/closeapi keeps keys out of its errors).
package schedule
