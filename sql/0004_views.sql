-- The views closesync made (child, live, _custom and starter views): the
-- fingerprint of each one's SQL and comments, and the SQL it ran. A sync
-- makes a view again only when its fingerprint changed or the view or its
-- comments are gone (someone replaced or dropped it: CREATE OR REPLACE
-- drops comments), so an unchanged file costs no DDL (pkg/load/catalog.go).
CREATE TABLE IF NOT EXISTS sync.views (
    schema_name VARCHAR NOT NULL,
    view_name VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,
    definition VARCHAR NOT NULL,
    made_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (schema_name, view_name)
);
