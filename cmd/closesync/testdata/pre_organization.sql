-- A database as closesync wrote it before tables carried organization_id:
-- the sync schema of sql/0001_sync.sql and the DDL createTableSQL produced
-- for leads (and children), users, lead_statuses, custom_fields and event_log
-- at commit 8e37d25, with a few rows. migrate_test.go opens it with today's code.

CREATE SCHEMA sync;
CREATE TABLE sync.migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL);
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

CREATE TABLE IF NOT EXISTS sync.state (
    account     VARCHAR NOT NULL,
    report      VARCHAR NOT NULL,
    bookmark    VARCHAR NOT NULL,
    run_id      BIGINT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account, report)
);
INSERT INTO sync.migrations VALUES ('0001_sync.sql', '2026-11-01 00:00:00+00');
CREATE SCHEMA close;
CREATE TABLE IF NOT EXISTS "close"."leads" (
    "id" VARCHAR,
    "name" VARCHAR,
    "display_name" VARCHAR,
    "description" VARCHAR,
    "url" VARCHAR,
    "status_id" VARCHAR,
    "status_label" VARCHAR,
    "html_url" VARCHAR,
    "source" VARCHAR,
    "primary_email" VARCHAR,
    "primary_phone" VARCHAR,
    "integration_links" JSON,
    "custom" JSON,
    "organization_id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "created_by" VARCHAR,
    "created_by_name" VARCHAR,
    "updated_by" VARCHAR,
    "updated_by_name" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "close"."leads_addresses" (
    "lead_id" VARCHAR,
    "_position" INTEGER,
    "label" VARCHAR,
    "address_1" VARCHAR,
    "address_2" VARCHAR,
    "city" VARCHAR,
    "state" VARCHAR,
    "zipcode" VARCHAR,
    "country" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("lead_id", "_position")
);
CREATE TABLE IF NOT EXISTS "close"."leads_contacts" (
    "lead_id" VARCHAR,
    "_position" INTEGER,
    "id" VARCHAR,
    "name" VARCHAR,
    "display_name" VARCHAR,
    "title" VARCHAR,
    "emails" JSON,
    "phones" JSON,
    "urls" JSON,
    "integration_links" JSON,
    "timezone" VARCHAR,
    "timezone_source" VARCHAR,
    "custom" JSON,
    "organization_id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "created_by" VARCHAR,
    "created_by_name" VARCHAR,
    "updated_by" VARCHAR,
    "updated_by_name" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("lead_id", "_position")
);
CREATE TABLE IF NOT EXISTS "close"."leads_opportunities" (
    "lead_id" VARCHAR,
    "_position" INTEGER,
    "id" VARCHAR,
    "lead_name" VARCHAR,
    "status_id" VARCHAR,
    "status_label" VARCHAR,
    "status_display_name" VARCHAR,
    "status_type" VARCHAR,
    "pipeline_id" VARCHAR,
    "pipeline_name" VARCHAR,
    "value" BIGINT,
    "value_period" VARCHAR,
    "value_currency" VARCHAR,
    "value_formatted" VARCHAR,
    "expected_value" BIGINT,
    "annualized_value" BIGINT,
    "annualized_expected_value" BIGINT,
    "confidence" BIGINT,
    "date_won" DATE,
    "date_lost" DATE,
    "contact_id" VARCHAR,
    "contact_name" VARCHAR,
    "user_id" VARCHAR,
    "user_name" VARCHAR,
    "note" VARCHAR,
    "attachments" JSON,
    "integration_links" JSON,
    "custom" JSON,
    "organization_id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "created_by" VARCHAR,
    "created_by_name" VARCHAR,
    "updated_by" VARCHAR,
    "updated_by_name" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("lead_id", "_position")
);
CREATE TABLE IF NOT EXISTS "close"."leads_tasks" (
    "lead_id" VARCHAR,
    "_position" INTEGER,
    "id" VARCHAR,
    "_type" VARCHAR,
    "text" VARCHAR,
    "lead_name" VARCHAR,
    "contact_id" VARCHAR,
    "contact_name" VARCHAR,
    "assigned_to" VARCHAR,
    "assigned_to_name" VARCHAR,
    "date" VARCHAR,
    "due_date" DATE,
    "is_complete" BOOLEAN,
    "is_dateless" BOOLEAN,
    "view" VARCHAR,
    "object_type" VARCHAR,
    "object_id" VARCHAR,
    "priority" VARCHAR,
    "organization_id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "created_by" VARCHAR,
    "created_by_name" VARCHAR,
    "updated_by" VARCHAR,
    "updated_by_name" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("lead_id", "_position")
);
CREATE TABLE IF NOT EXISTS "close"."users" (
    "id" VARCHAR,
    "email" VARCHAR,
    "first_name" VARCHAR,
    "last_name" VARCHAR,
    "image" VARCHAR,
    "organizations" VARCHAR[],
    "last_used_timezone" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "email_verified_at" TIMESTAMPTZ,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "close"."lead_statuses" (
    "id" VARCHAR,
    "label" VARCHAR,
    "organization_id" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "close"."custom_fields" (
    "id" VARCHAR,
    "object_type" VARCHAR,
    "name" VARCHAR,
    "description" VARCHAR,
    "type" VARCHAR,
    "choices" JSON,
    "accepts_multiple_values" BOOLEAN,
    "is_shared" BOOLEAN,
    "custom_activity_type_id" VARCHAR,
    "custom_object_type_id" VARCHAR,
    "editable_with_roles" JSON,
    "organization_id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "created_by" VARCHAR,
    "created_by_name" VARCHAR,
    "updated_by" VARCHAR,
    "updated_by_name" VARCHAR,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("id")
);
CREATE TABLE IF NOT EXISTS "close"."event_log" (
    "id" VARCHAR,
    "date_created" TIMESTAMPTZ,
    "date_updated" TIMESTAMPTZ,
    "organization_id" VARCHAR,
    "user_id" VARCHAR,
    "request_id" VARCHAR,
    "api_key_id" VARCHAR,
    "object_type" VARCHAR,
    "object_id" VARCHAR,
    "lead_id" VARCHAR,
    "action" VARCHAR,
    "changed_fields" VARCHAR[],
    "data" JSON,
    "previous_data" JSON,
    "meta" JSON,
    "_raw" JSON,
    "_synced_at" TIMESTAMPTZ,
    "_run_id" BIGINT,
    "_deleted_at" TIMESTAMPTZ,
    PRIMARY KEY ("id")
);
INSERT INTO sync.runs (run_id, job, report, account, trigger, started_at, finished_at, status, rows_extracted, rows_upserted)
    VALUES (1, 'core', 'leads', 'main', 'manual', '2026-11-01 00:00:00+00', '2026-11-01 00:01:00+00', 'success', 2, 2);
SELECT nextval('sync.run_id_seq');
INSERT INTO sync.state VALUES ('main', 'leads', '2000-01-01T00:00:00Z', 1, '2026-11-01 00:01:00+00');
INSERT INTO close.leads (id, display_name, date_updated, _raw, _synced_at, _run_id)
    VALUES ('lead_old', 'Kept Old Lead', '2020-01-01 00:00:00+00', '{"id": "lead_old", "display_name": "Kept Old Lead", "addresses": [{"city": "Lisbon"}]}', '2026-11-01 00:01:00+00', 1),
           ('lead_other', 'Lead Of Another Org', '2020-01-01 00:00:00+00', '{"id": "lead_other", "organization_id": "orga_other"}', '2026-11-01 00:01:00+00', 1);
INSERT INTO close.leads_addresses (lead_id, _position, city, _raw, _synced_at, _run_id)
    VALUES ('lead_old', 0, 'Lisbon', '{"city": "Lisbon"}', '2026-11-01 00:01:00+00', 1);
INSERT INTO close.users (id, email, _raw, _synced_at, _run_id)
    VALUES ('user_old', 'old@example.com', '{"id": "user_old"}', '2026-11-01 00:01:00+00', 1);
CREATE VIEW close.leads_custom AS SELECT t.* FROM close.leads t;
