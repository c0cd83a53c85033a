"""Every committed change to an API key or a merchant is announced on the channel
`paydesk_api_keys` (payments.services.api_key_cache): each web process then forgets the keys
it had cached, whichever program made the change (the back office, a script, plain SQL)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION notify_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('paydesk_api_keys', TG_TABLE_NAME);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION notify_api_keys_changed();
CREATE TRIGGER merchants_changed AFTER UPDATE OR DELETE OR TRUNCATE ON merchants
    FOR EACH STATEMENT EXECUTE FUNCTION notify_api_keys_changed();
"""

REVERSE = """
DROP TRIGGER merchants_changed ON merchants;
DROP TRIGGER api_keys_changed ON api_keys;
DROP FUNCTION notify_api_keys_changed();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0018_sandbox_operations_unlogged")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
