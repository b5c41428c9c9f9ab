-- Copy-once pages (issue 17): a new webhook URL, invite link or generated signing secret waits
-- here, sealed with the secret key, until the page that shows it takes it (deleting the row)
-- or it expires; any node can show it. Only the SHA-256 of the nonce the session holds is kept.
CREATE TABLE reveals (
    nonce_hash     TEXT PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    integration_id INTEGER NOT NULL,   -- the page's integration; 0 for none (an invite link)
    sealed         BLOB NOT NULL,      -- nonce || AES-256-GCM ciphertext, bound to nonce_hash
    expires_at     TEXT NOT NULL
);
CREATE INDEX reveals_expires_idx ON reveals(expires_at);
