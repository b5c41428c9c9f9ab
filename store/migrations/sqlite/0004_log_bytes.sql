-- The Extraction Logs are bounded in bytes per integration (Retention.MaxBytesPerIntegration):
-- each integration keeps the total length of its logged request bodies, maintained by
-- triggers on every insert and delete (pruning, the byte bound, cascades), so checking the
-- bound reads one row instead of summing the table.
ALTER TABLE integrations ADD COLUMN logged_body_bytes INTEGER NOT NULL DEFAULT 0;

UPDATE integrations SET logged_body_bytes =
    (SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests w WHERE w.integration_id = integrations.id);

CREATE TRIGGER webhook_requests_count_body AFTER INSERT ON webhook_requests BEGIN
    UPDATE integrations SET logged_body_bytes = logged_body_bytes + COALESCE(length(NEW.body), 0)
    WHERE id = NEW.integration_id;
END;

CREATE TRIGGER webhook_requests_uncount_body AFTER DELETE ON webhook_requests BEGIN
    UPDATE integrations SET logged_body_bytes = logged_body_bytes - COALESCE(length(OLD.body), 0)
    WHERE id = OLD.integration_id;
END;
