-- The views closesync made (child, live, _custom and starter views): the
-- fingerprint of each one's SQL and comments, and DuckDB's SQL of it right
-- after. A sync makes a view again only when its fingerprint changed or its
-- SQL in the file is no longer what closesync made (someone replaced or
-- dropped it), so an unchanged file costs no DDL (pkg/load/catalog.go).
CREATE TABLE IF NOT EXISTS sync.views (
    schema_name VARCHAR NOT NULL,
    view_name VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    definition VARCHAR NOT NULL,
    made_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (schema_name, view_name)
);
