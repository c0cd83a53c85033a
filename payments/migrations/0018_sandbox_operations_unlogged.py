"""The sandbox's ledger stands in for a remote processor's records, not ours: an UNLOGGED
table (no WAL, so its commits do not wait for a disk flush; emptied if PostgreSQL crashes).
Our own ledger of what the sandbox answered is `transactions`, which stays fully durable."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("payments", "0017_drop_pattern_ops_indexes")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE sandbox_operations SET UNLOGGED",
            "ALTER TABLE sandbox_operations SET LOGGED",
        )
    ]
