-- Signed webhooks (issue 16): each integration's verification settings, and its signing
-- secrets, encrypted with the operator's key (AES-256-GCM, see secretbox.go); two may be
-- active at once, for rotation.
ALTER TABLE integrations ADD COLUMN signature_config TEXT NOT NULL DEFAULT ''; -- JSON of signature.Config; '' verifies nothing

CREATE TABLE signing_secrets (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    sealed         BLOB NOT NULL,   -- nonce || AES-256-GCM ciphertext, bound to the integration's id
    created_at     TEXT NOT NULL
);
CREATE INDEX signing_secrets_integration_idx ON signing_secrets(integration_id, id);
