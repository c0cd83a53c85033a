"""The runbook's unqualified SQL resolves: `FROM pg_stat_statements` (its slow-query checks) in
Django's connections and in a plain `psql` session, and `DELETE FROM webhook_logs` (weekly
maintenance) in a plain `psql` session too.

Django's connections run with search_path=payment, so the extension goes into schema `payment`;
other sessions get `payment, public` as the database's search_path. Creating the extension
needs a superuser and the server's contrib files, setting the database's search_path needs its
owner: where the application role lacks either, the migration says so in a NOTICE and goes on,
and README's configuration section lists what the DBA runs instead. The view answers only on a
server that preloads the library (shared_preload_libraries: server configuration, not SQL)."""

from django.db import migrations

CREATE_EXTENSION = """
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA payment;
EXCEPTION
    -- Not a superuser; or the server lacks the extension's files (feature_not_supported since
    -- PostgreSQL 15, undefined_file before).
    WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
        RAISE NOTICE 'pg_stat_statements not created (%): a superuser runs '
            'CREATE EXTENSION pg_stat_statements SCHEMA payment', SQLERRM;
END
$$;
"""

# The extension is server monitoring, not Paydesk's data: unmigrating leaves it to the DBA.
DROP_EXTENSION = migrations.RunSQL.noop

SET_SEARCH_PATH = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET search_path = payment, public', current_database());
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'search_path not set (%): the database owner runs '
            'ALTER DATABASE % SET search_path = payment, public', SQLERRM, current_database();
END
$$;
"""

RESET_SEARCH_PATH = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET search_path', current_database());
EXCEPTION
    WHEN insufficient_privilege THEN
        RAISE NOTICE 'search_path not reset (%)', SQLERRM;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_alter_auditlog_id")]

    operations = [
        migrations.RunSQL(CREATE_EXTENSION, DROP_EXTENSION),
        migrations.RunSQL(SET_SEARCH_PATH, RESET_SEARCH_PATH),
    ]
