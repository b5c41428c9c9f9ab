-- Teammates. One workspace per server: the owner's. A member's workspace_id is the owner's
-- user id; the owner's is NULL (its workspace is its own id). Integrations keep their user_id,
-- which is the workspace's (the owner's id) whoever created them, so removing a member
-- deletes nothing of the workspace's.
ALTER TABLE users ADD COLUMN workspace_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
-- Bumped to end all of a user's sessions (a password change): each session keeps the value it
-- was signed in under, and one with an older value is signed out at its next request.
ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_workspace_idx ON users(workspace_id, id);

-- Invite links: only a SHA-256 of each token is stored, as for webhook URLs. A link is valid
-- until expires_at, works once (accepted_at) and can be withdrawn (revoked_at).
CREATE TABLE invites (
    id           INTEGER PRIMARY KEY,
    workspace_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email        TEXT NOT NULL COLLATE NOCASE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    revoked_at   TEXT
);
CREATE INDEX invites_workspace_idx ON invites(workspace_id, id);
