-- The one-time code /setup asks for while no account exists, so that whoever reaches an unclaimed
-- server first does not become its owner. Each start without an account replaces it and writes the
-- code to the data folder; only its SHA-256 is kept, and creating the owner deletes it.
CREATE TABLE setup_code (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL
);
