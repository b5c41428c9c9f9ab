-- Issue 15. refused counts every refused request (errors leaves out a paused integration's
-- 503s, which the user chose), revoked the requests to a revoked URL of the integration.
ALTER TABLE hourly_activity ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE hourly_activity ADD COLUMN revoked BIGINT NOT NULL DEFAULT 0;
UPDATE hourly_activity SET refused = errors;
-- Extraction Logs filtered by result (accepted or refused) or by status code: each filter is
-- a walk of one of these, newest first, that stops at the page's last row.
CREATE INDEX webhook_requests_result_idx ON webhook_requests(integration_id, (status >= 300), id);
CREATE INDEX webhook_requests_status_idx ON webhook_requests(integration_id, status, id);
