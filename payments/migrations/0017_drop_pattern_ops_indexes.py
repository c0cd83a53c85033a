"""Drop the `<column>_like` (varchar_pattern_ops) indexes Django created before our schema
editor stopped creating them (config/db/base.py): nothing queries ids or keys with LIKE, and
each one was an extra index write per insert on the payment hot path."""

from django.db import migrations

DROP_PATTERN_OPS_INDEXES = """
DO $$
DECLARE index_name text;
BEGIN
    FOR index_name IN
        SELECT i.indexname FROM pg_indexes i
        WHERE i.schemaname = current_schema()
          AND (i.indexdef LIKE '%varchar_pattern_ops%' OR i.indexdef LIKE '%text_pattern_ops%')
    LOOP
        EXECUTE format('DROP INDEX IF EXISTS %I', index_name);
    END LOOP;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0016_hot_path_index_budget"),
        ("fraud", "0006_fraud_checks_index_budget"),
        ("webhooks", "0005_outbox_index_budget"),
        ("audit", "0003_security_event_ip_index"),
        ("compliance", "0002_saved_filters"),
    ]

    operations = [migrations.RunSQL(DROP_PATTERN_OPS_INDEXES, migrations.RunSQL.noop)]
