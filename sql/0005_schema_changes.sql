-- Schema changes closesync saw (README "Schema changes"): one row per
-- custom field added, renamed, retyped or deleted in Close, with the run
-- that saw it. custom_fields_seen is each organization's definitions as the
-- _custom views show them (the last run that followed Close left them:
-- on_schema_change evolve); each run of custom_fields compares with them.
-- schema_baselines says which run kept them, and that an organization has
-- them at all, so that a first sync's fields are the baseline, not a flood
-- of "added". No column has a DEFAULT that calls a function: DuckDB
-- 1.5 cannot replay such a CREATE TABLE from the WAL (an internal error
-- about the default database), so a crash before the next checkpoint
-- would leave a file that does not open (TestKillNineAtAnyInstant).
CREATE SEQUENCE IF NOT EXISTS sync.schema_change_id_seq START 1;

CREATE TABLE IF NOT EXISTS sync.schema_changes (
    change_id       BIGINT PRIMARY KEY,    -- nextval('sync.schema_change_id_seq'), given by the insert
    run_id          BIGINT NOT NULL,       -- the sync.runs row that saw it
    seen_at         TIMESTAMPTZ NOT NULL,
    organization_id VARCHAR NOT NULL,
    object_type     VARCHAR NOT NULL,      -- the field's Close object type: lead, contact, opportunity, shared ...
    views           VARCHAR NOT NULL,      -- the <table>_custom views that show it, comma-separated
    change          VARCHAR NOT NULL,      -- field_added | field_renamed | field_retyped | field_deleted
    field_id        VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,      -- the field's name now (deleted: its last name)
    previous        VARCHAR,               -- renamed: the old name; retyped: the old type; else NULL
    current         VARCHAR                -- renamed: the new name; retyped: the new type; else NULL
);

CREATE TABLE IF NOT EXISTS sync.custom_fields_seen (
    organization_id VARCHAR NOT NULL,
    id              VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    type            VARCHAR NOT NULL,      -- the field's type, with [] when it accepts several values
    object_type     VARCHAR NOT NULL,
    PRIMARY KEY (organization_id, id)
);

CREATE TABLE IF NOT EXISTS sync.schema_baselines (
    organization_id VARCHAR NOT NULL,
    subject         VARCHAR NOT NULL,      -- custom_fields
    run_id          BIGINT NOT NULL,       -- the run whose definitions custom_fields_seen holds
    PRIMARY KEY (organization_id, subject)
);
