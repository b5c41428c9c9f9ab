-- The integrations list puts integrations with refused requests in the last hour first; this
-- finds them without reading every hour of every integration (only hours with errors are in it).
CREATE INDEX hourly_activity_errors_idx ON hourly_activity(hour) WHERE errors > 0;
