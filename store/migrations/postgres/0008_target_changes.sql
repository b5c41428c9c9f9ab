-- Several nodes cache authenticated webhook URLs (targetCache). Every change that can refuse
-- a URL (revoke, pause, delete, signing settings), whichever node or tool makes it, notifies
-- hookhouse_targets when it commits, and every node's listener clears its cache.
CREATE FUNCTION notify_target_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hookhouse_targets', '');
    RETURN NULL;
END $$;

CREATE TRIGGER webhook_urls_changed AFTER UPDATE OF revoked_at, token_hash, integration_id OR DELETE ON webhook_urls
    FOR EACH STATEMENT EXECUTE FUNCTION notify_target_change();
-- Not on every update: last_event_at and logged_body_bytes change with every webhook.
CREATE TRIGGER integrations_changed AFTER UPDATE OF paused_at, signature_config, schema_name, source, primary_key, user_id ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION notify_target_change();
CREATE TRIGGER integrations_deleted AFTER DELETE ON integrations
    FOR EACH STATEMENT EXECUTE FUNCTION notify_target_change();
CREATE TRIGGER signing_secrets_changed AFTER INSERT OR UPDATE OR DELETE ON signing_secrets
    FOR EACH STATEMENT EXECUTE FUNCTION notify_target_change();
