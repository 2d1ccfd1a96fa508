// Package load writes extracted Close records into DuckDB.
//
// A Store is one open database file. It is opened for a run and closed after
// it (DESIGN.md: readers such as the DuckDB CLI get the file between runs), and
// waits with backoff when another process holds the file's lock.
//
// Every data table stores the record exactly as the API returned it in _raw
// and derives its typed columns from that JSON in SQL (json_transform, then
// TRY_CAST), so a field the catalog does not know, or a value of an unexpected
// type, is never lost: the typed column is NULL and _raw still has it.
//
// Apply writes one batch in one transaction: the records are staged with the
// DuckDB appender, deduplicated by key (newest by the table's order column
// wins, then the later record), filtered so that an older version never
// replaces a newer one, upserted, and the report's bookmark and the run's
// counters updated. Child tables are views over their parent's _raw
// (childViewSQL), so Apply writes only the parent and they change with it. A crash at any instant
// therefore leaves either all of a batch or none of it.
//
// The Store knows nothing of HTTP or of Close: tables are described by
// pkg/schema and records (schema.Record) are opaque JSON. Column types are
// logical (schema.Type); types.go maps them to DuckDB's. What deletes a
// table's rows (schema.Table.Deletes, applied by ApplyDeletes) and which
// custom fields its view shows (schema.Table.CustomFieldTypes, for
// RefreshCustomViews) are declared on the table by the catalog, so no
// report or object type is named here.
package load
