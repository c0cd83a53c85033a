from django.db.backends.postgresql import base

SCHEMA = "payment"


class DatabaseWrapper(base.DatabaseWrapper):
    """Every table lives in the `payment` schema (`search_path=payment`), as the runbook's SQL
    expects; `migrate` calls `prepare_database()` first, so the schema exists before Django
    creates its first table in it."""

    def prepare_database(self) -> None:
        super().prepare_database()
        with self.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
