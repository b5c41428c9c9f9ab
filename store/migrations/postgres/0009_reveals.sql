-- Copy-once pages (see sqlite/0009).
CREATE TABLE reveals (
    nonce_hash     TEXT PRIMARY KEY,
    user_id        BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    integration_id BIGINT NOT NULL,
    sealed         BYTEA NOT NULL,
    expires_at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX reveals_expires_idx ON reveals(expires_at);
