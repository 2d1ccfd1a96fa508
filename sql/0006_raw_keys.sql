-- The keys of _raw closesync has seen, per organization and table (README
-- "Schema changes"): a batch that carries a key the table's records never
-- had records it here, and, once the table has a baseline (its first
-- batch's keys, recorded without a change), a raw_key_added row in
-- sync.schema_changes. No DEFAULT that calls a function (see 0005).
CREATE TABLE IF NOT EXISTS sync.raw_keys (
    organization_id VARCHAR NOT NULL,
    table_name      VARCHAR NOT NULL,      -- the data table whose _raw carries it
    key             VARCHAR NOT NULL,      -- a top-level key of the records' JSON
    run_id          BIGINT NOT NULL,       -- the run that first saw it
    first_seen      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (organization_id, table_name, key)
);
