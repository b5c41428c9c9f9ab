-- Every node counts webhooks per integration on /metrics. A deleted integration's series go on
-- every node, which hear of the delete here: the payload is its id (hookhouse_targets, 0008,
-- carries none).
CREATE FUNCTION notify_integration_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hookhouse_deleted', OLD.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER integrations_deleted_each AFTER DELETE ON integrations
    FOR EACH ROW EXECUTE FUNCTION notify_integration_deleted();
