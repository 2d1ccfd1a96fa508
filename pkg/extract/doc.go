// Package extract turns a configured report into Close API queries and
// streams the resulting records in batches.
//
// The catalog (Catalog, Lookup) is data: each Report declares its endpoint,
// fixed parameters, pagination kind, page size, table shape (pkg/schema),
// replication method and incremental strategy. Adding a report is a
// declaration, not new code.
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
// read with Advanced Filtering (POST /data/search/, Paging Search): cursor
// walks sorted by date_updated, re-queried from where they got to when a
// cursor expires or a walk reaches Close's 10,000-object cap (search.go).
//
// The package knows nothing of DuckDB: it hands each batch to an emit
// callback and returns when the report is exhausted, an error occurs, or the
// context is cancelled.
package extract
