-- Each integration keeps the total length of its logged request bodies (see sqlite/0004),
-- maintained by a trigger on every insert and delete.
ALTER TABLE integrations ADD COLUMN logged_body_bytes BIGINT NOT NULL DEFAULT 0;

UPDATE integrations SET logged_body_bytes =
    (SELECT COALESCE(SUM(length(body)), 0) FROM webhook_requests w WHERE w.integration_id = integrations.id);

CREATE FUNCTION webhook_requests_count_body() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE integrations SET logged_body_bytes = logged_body_bytes + COALESCE(length(NEW.body), 0)
        WHERE id = NEW.integration_id;
        RETURN NEW;
    END IF;
    UPDATE integrations SET logged_body_bytes = logged_body_bytes - COALESCE(length(OLD.body), 0)
    WHERE id = OLD.integration_id;
    RETURN OLD;
END $$;

CREATE TRIGGER webhook_requests_count_body AFTER INSERT OR DELETE ON webhook_requests
    FOR EACH ROW EXECUTE FUNCTION webhook_requests_count_body();
