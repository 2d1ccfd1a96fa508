-- Run history and bookmarks. The data schema (default "close") is created by
-- pkg/load from the report catalog; this file owns the "sync" schema only.
CREATE SCHEMA IF NOT EXISTS sync;

CREATE SEQUENCE IF NOT EXISTS sync.run_id_seq START 1;

CREATE TABLE IF NOT EXISTS sync.runs (
    run_id          BIGINT PRIMARY KEY,
    job             VARCHAR NOT NULL,
    report          VARCHAR NOT NULL,
    account         VARCHAR NOT NULL,
    trigger         VARCHAR NOT NULL,   -- schedule | manual | startup | retry
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL,   -- running | success | failed | cancelled
    rows_extracted  BIGINT NOT NULL DEFAULT 0,
    rows_upserted   BIGINT NOT NULL DEFAULT 0,
    rows_deleted    BIGINT NOT NULL DEFAULT 0,
    requests        BIGINT NOT NULL DEFAULT 0,
    retries         BIGINT NOT NULL DEFAULT 0,
    error           VARCHAR
);

-- One bookmark per (account, report), written in the same transaction as the
-- rows it covers.
CREATE TABLE IF NOT EXISTS sync.state (
    account     VARCHAR NOT NULL,
    report      VARCHAR NOT NULL,
    bookmark    VARCHAR NOT NULL,
    run_id      BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, report)
);
