-- Integrations (one webhook source each, loading into its own schema) and their webhook URLs.
CREATE TABLE integrations (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    source        TEXT NOT NULL,              -- catalog slug, e.g. "vero"
    schema_name   TEXT NOT NULL,              -- fixed at creation; the warehouse file's name
    primary_key   TEXT NOT NULL DEFAULT '',   -- top-level field identifying a record; '' for none
    paused_at     TEXT,
    created_at    TEXT NOT NULL,
    last_event_at TEXT
);
-- Warehouse files are named by schema, so schema names are unique across all users.
CREATE UNIQUE INDEX integrations_schema_idx ON integrations(schema_name COLLATE NOCASE);
CREATE INDEX integrations_user_idx ON integrations(user_id, id);

-- Schemas whose integration was deleted with its data kept: the data stays reserved for
-- its owner, who may reuse the name; nobody else can load into it.
CREATE TABLE kept_schemas (
    schema_name TEXT PRIMARY KEY COLLATE NOCASE,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    deleted_at  TEXT NOT NULL
);

-- Only a SHA-256 of each token is stored, plus its first characters to recognise it by.
CREATE TABLE webhook_urls (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    token_prefix   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);
CREATE INDEX webhook_urls_integration_idx ON webhook_urls(integration_id, id);
