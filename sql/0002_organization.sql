-- Several organisations in one file: every run records the organization it
-- synced, and bookmarks are kept per (account, organization, report) so that
-- an account whose key now belongs to another organization starts afresh.
-- Bookmarks saved before have organization_id '': the account's next save
-- replaces its one (pkg/load). DuckDB cannot alter a primary key, so
-- sync.state is rebuilt.
ALTER TABLE sync.runs ADD COLUMN organization_id VARCHAR;

CREATE TABLE sync.state_v2 (
    account          VARCHAR NOT NULL,
    organization_id  VARCHAR NOT NULL,
    report           VARCHAR NOT NULL,
    bookmark         VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, organization_id, report)
);
INSERT INTO sync.state_v2 SELECT account, '', report, bookmark, run_id, updated_at FROM sync.state;
DROP TABLE sync.state;
ALTER TABLE sync.state_v2 RENAME TO state;
