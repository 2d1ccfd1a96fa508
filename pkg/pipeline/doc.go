// Package pipeline runs one report: the path of its records from the Close
// API into the store, recorded as one sync.runs row. It knows no report by
// name: what a report needs besides its load, it declares
// (extract.Report.After), and the pipeline runs those steps.
//
// The path of one run (Runner.RunReport):
//
//	begin      Store.BeginRun: a sync.runs row (trigger, account, organization)
//	  |
//	bookmark   Store.Bookmark: where the last run stopped (none for a replace,
//	  |        whose table is rebuilt: Store.StartReplace begins its shadow);
//	  |        a report declaring RefetchEdited also asks the store which of
//	  |        its records the event log reports edited since
//	  |
//	walk       the ExtractFunc streams the report's batches, on its own
//	  |        goroutine one page ahead of the writer (fetchAhead) ...
//	  |
//	batch      ... into a load.BatchWriter, which commits them in groups
//	writer     (load.DefaultBatchRows records, DefaultBatchBytes of JSON or
//	  |        load.DefaultBatchAge), each
//	  |        with its bookmark in one transaction; a replace is swapped in
//	  |        (Store.FinishReplace) after the zero-row guard
//	  |
//	finish     Store.FinishRun: status, counters, the error text
//	  |
//	steps      the report's declared steps, on success: ApplyEventDeletes,
//	           PurgeDeleted, RefreshCustomViews. A step that fails is logged;
//	           the data has landed and the run stays a success.
//
// A reconcile run (RunReconcile, and the one that follows a full refresh)
// shares the scaffold: begin, a walk that lists ids only (or the ids a full
// refresh's walk already listed), the reconcile step, finish.
//
// Errors carry their stage (*StageError: extract, load or step) and tell
// whether running again may pass (Temporary); a cancelled context ends the
// run as "cancelled", not as an error. The error text, stored in sync.runs,
// never holds an API key (pkg/closeapi keeps keys out of its errors).
//
// The store is the four small interfaces of Store; *load.Store implements
// them. The Runner remembers, per account, a failure every further report
// would repeat (a rejected key, an unreachable API): the account's
// remaining reports then fail at once with a *SkippedError.
package pipeline
