-- The integrations list (see sqlite/0005). PostgreSQL sorts NULLs first in DESC order, so the
-- index (and the list's ORDER BY) says NULLS LAST; lower(name) stands for COLLATE NOCASE.
CREATE INDEX hourly_activity_errors_idx ON hourly_activity(hour) WHERE errors > 0;
CREATE INDEX integrations_list_idx ON integrations(user_id, last_event_at DESC NULLS LAST, lower(name), schema_name, paused_at);
