// Package extract turns a configured report into Close API queries and
// streams the resulting records in batches.
//
// The catalog (Catalog, Lookup) is data: each Report declares its endpoint,
// fixed parameters, its walker (the paging style with its page size: see
// Walker), table shape (pkg/schema), replication method, incremental
// strategy and post-load steps. Adding a report is a declaration, not new
// code; adding a paging style is one walker file (walk_*.go) and its test.
// Extract and PlanRun call the report's walker; Strategy.From is the one
// statement of where an incremental read starts.
//
// Incremental reads filter on a mutable field (date_updated) but sort by an
// immutable one (date_created) wherever the API allows it: an offset walk
// sorted by date_updated skips a row every time a row it already passed is
// updated during the walk (everything behind it shifts left), which is how
// other Close connectors silently lose leads. Because such a walk is not
// ordered by the bookmark field, its bookmark is committed only with its last
// batch, and never later than the run's start minus an overlap; an
// interrupted run re-reads from the previous bookmark, and upserts make the
// re-read harmless.
//
// Objects that no list endpoint returns across leads (custom objects) are
// read with Advanced Filtering (POST /data/search/, the Search walker): cursor
// walks sorted by date_updated, re-queried from where they got to when a
// cursor expires or a walk reaches Close's 10,000-object cap (walk_search.go).
//
// The package knows nothing of DuckDB: it hands each batch to an emit
// callback and returns when the report is exhausted, an error occurs, or the
// context is cancelled.
package extract
