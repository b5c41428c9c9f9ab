-- The one-time code /setup asks for (see sqlite/0011).
CREATE TABLE setup_code (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    code_hash  TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
);
