-- The integrations list. Integrations with refused requests in the last hour come first: this
-- finds them without reading every hour of every integration (only hours with errors are in it).
CREATE INDEX hourly_activity_errors_idx ON hourly_activity(hour) WHERE errors > 0;
-- Then the most recent activity (NULLs sort last in DESC), name, schema: a page is a walk of
-- this index that stops at its last row, and counting by status reads the index, not the table.
CREATE INDEX integrations_list_idx ON integrations(user_id, last_event_at DESC, name COLLATE NOCASE, schema_name, paused_at);
