-- What arrived: Extraction Logs (one row per webhook request, pruned by age and count),
-- Loading Reports (one row per committed batch) and per-hour totals for the overview.
CREATE TABLE webhook_requests (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    received_at    TEXT NOT NULL,
    status         INTEGER NOT NULL,            -- the HTTP status answered
    error          TEXT NOT NULL DEFAULT '',    -- why it was refused; '' when accepted
    records        INTEGER NOT NULL DEFAULT 0,  -- records loaded
    rejected       INTEGER NOT NULL DEFAULT 0,  -- records sent to _sdc_rejected
    bytes          INTEGER NOT NULL DEFAULT 0,
    content_type   TEXT NOT NULL DEFAULT '',
    ip             TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    body           BLOB,                        -- the first MaxLoggedBody bytes
    body_truncated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_requests_integration_idx ON webhook_requests(integration_id, id);
CREATE INDEX webhook_requests_received_idx ON webhook_requests(received_at);

CREATE TABLE load_reports (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    committed_at   TEXT NOT NULL,
    duration_us    INTEGER NOT NULL,
    records        INTEGER NOT NULL,
    rejected       INTEGER NOT NULL,
    rows_by_table  TEXT NOT NULL,  -- JSON object: table name -> rows
    columns_added  TEXT NOT NULL   -- JSON array of {table, name, type, source}
);
CREATE INDEX load_reports_integration_idx ON load_reports(integration_id, id);
CREATE INDEX load_reports_committed_idx ON load_reports(committed_at);

CREATE TABLE hourly_activity (
    integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,
    hour           TEXT NOT NULL,                -- UTC, e.g. 2026-11-23T14
    rows           INTEGER NOT NULL DEFAULT 0,   -- rows loaded into data
    requests       INTEGER NOT NULL DEFAULT 0,
    errors         INTEGER NOT NULL DEFAULT 0,   -- requests refused
    PRIMARY KEY (integration_id, hour)
) WITHOUT ROWID;
