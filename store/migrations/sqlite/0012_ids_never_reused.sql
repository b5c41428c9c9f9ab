-- foreign_keys=OFF: this rebuilds tables that others reference (apply turns foreign keys off around
-- it, as dropping a parent would cascade, and runs foreign_key_check before the commit).
--
-- Ids are never given twice. Without AUTOINCREMENT, SQLite gives a new row the largest id + 1,
-- so deleting the newest integration (or teammate, invite, webhook URL, signing secret) gave its
-- id, its bookmarks and the log lines naming it to the next one. SQLite cannot add AUTOINCREMENT
-- to a table, so each is rebuilt by its 12-step procedure (new table, copy, drop, rename, indexes).
-- sqlite_sequence starts at the largest id left: one already deleted and reused is not known.
-- The Extraction Logs and Loading Reports keep theirs: their ids appear under the integration's
-- (never reused now), and rebuilding them would copy every logged body at start.

CREATE TABLE new_users (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    email              TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash      TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    workspace_id       INTEGER REFERENCES users(id) ON DELETE CASCADE,
    session_generation INTEGER NOT NULL DEFAULT 0
);
INSERT INTO new_users (id, email, password_hash, created_at, workspace_id, session_generation)
    SELECT id, email, password_hash, created_at, workspace_id, session_generation FROM users;
DROP TABLE users;
ALTER TABLE new_users RENAME TO users;
CREATE INDEX users_workspace_idx ON users(workspace_id, id);

CREATE TABLE new_integrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    source            TEXT NOT NULL,              -- catalog slug, e.g. "vero"
    schema_name       TEXT NOT NULL,              -- fixed at creation; the warehouse file's name
    primary_key       TEXT NOT NULL DEFAULT '',   -- top-level field identifying a record; '' for none
    paused_at         TEXT,
    created_at        TEXT NOT NULL,
    last_event_at     TEXT,
    logged_body_bytes INTEGER NOT NULL DEFAULT 0, -- see 0004
    signature_config  TEXT NOT NULL DEFAULT ''    -- see 0007
);
INSERT INTO new_integrations (id, user_id, name, source, schema_name, primary_key, paused_at, created_at, last_event_at, logged_body_bytes, signature_config)
    SELECT id, user_id, name, source, schema_name, primary_key, paused_at, created_at, last_event_at, logged_body_bytes, signature_config FROM integrations;
-- The triggers of 0004 name integrations: dropped while it is missing, made again below.
DROP TRIGGER webhook_requests_count_body;
DROP TRIGGER webhook_requests_uncount_body;
DROP TABLE integrations;
ALTER TABLE new_integrations RENAME TO integrations;
CREATE UNIQUE INDEX integrations_schema_idx ON integrations(schema_name COLLATE NOCASE);
CREATE INDEX integrations_user_idx ON integrations(user_id, id);
CREATE INDEX integrations_list_idx ON integrations(user_id, last_event_at DESC, name COLLATE NOCASE, schema_name, paused_at);
CREATE TRIGGER webhook_requests_count_body AFTER INSERT ON webhook_requests BEGIN
    UPDATE integrations SET logged_body_bytes = logged_body_bytes + COALESCE(length(NEW.body), 0)
    WHERE id = NEW.integration_id;
END;
CREATE TRIGGER webhook_requests_uncount_body AFTER DELETE ON webhook_requests BEGIN
    UPDATE integrations SET logged_body_bytes = logged_body_bytes - COALESCE(length(OLD.body), 0)
    WHERE id = OLD.integration_id;
END;

CREATE TABLE new_webhook_urls (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    token_prefix   TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT,
    revoked_at     TEXT
);
INSERT INTO new_webhook_urls (id, integration_id, token_hash, token_prefix, created_at, last_used_at, revoked_at)
    SELECT id, integration_id, token_hash, token_prefix, created_at, last_used_at, revoked_at FROM webhook_urls;
DROP TABLE webhook_urls;
ALTER TABLE new_webhook_urls RENAME TO webhook_urls;
CREATE INDEX webhook_urls_integration_idx ON webhook_urls(integration_id, id);

CREATE TABLE new_invites (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email        TEXT NOT NULL COLLATE NOCASE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    revoked_at   TEXT
);
INSERT INTO new_invites (id, workspace_id, email, token_hash, created_at, expires_at, accepted_at, revoked_at)
    SELECT id, workspace_id, email, token_hash, created_at, expires_at, accepted_at, revoked_at FROM invites;
DROP TABLE invites;
ALTER TABLE new_invites RENAME TO invites;
CREATE INDEX invites_workspace_idx ON invites(workspace_id, id);

CREATE TABLE new_signing_secrets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    sealed         BLOB NOT NULL,   -- nonce || AES-256-GCM ciphertext, bound to the integration's id
    created_at     TEXT NOT NULL
);
INSERT INTO new_signing_secrets (id, integration_id, sealed, created_at)
    SELECT id, integration_id, sealed, created_at FROM signing_secrets;
DROP TABLE signing_secrets;
ALTER TABLE new_signing_secrets RENAME TO signing_secrets;
CREATE INDEX signing_secrets_integration_idx ON signing_secrets(integration_id, id);

-- Each sequence starts at the largest id left; for integrations also at the largest a copy-once
-- page still waiting names (reveals has no foreign key, so it may outlive its integration).
DELETE FROM sqlite_sequence WHERE name IN ('users', 'integrations', 'webhook_urls', 'invites', 'signing_secrets');
INSERT INTO sqlite_sequence (name, seq) VALUES
    ('users', (SELECT COALESCE(MAX(id), 0) FROM users)),
    ('integrations', MAX((SELECT COALESCE(MAX(id), 0) FROM integrations), (SELECT COALESCE(MAX(integration_id), 0) FROM reveals))),
    ('webhook_urls', (SELECT COALESCE(MAX(id), 0) FROM webhook_urls)),
    ('invites', (SELECT COALESCE(MAX(id), 0) FROM invites)),
    ('signing_secrets', (SELECT COALESCE(MAX(id), 0) FROM signing_secrets));
