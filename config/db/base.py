from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base, operations, schema
from django.db.backends.utils import CursorWrapper
from django.utils.asyncio import async_unsafe

from config.db.pool import LastInFirstOutPool

SCHEMA = "payment"


class DatabaseSchemaEditor(schema.DatabaseSchemaEditor):
    """No `<column>_like` pattern-ops indexes.

    Django adds a second `varchar_pattern_ops` index to every indexed or unique varchar column
    for LIKE 'prefix%' queries. We never run those on ids or keys, and every such index is one
    more index entry written per insert (and per non-HOT update): on the payment hot path they
    were 14 of ~80 index writes per payment. docs/performance.md has the index budget."""

    def _create_like_index_sql(self, model: Any, field: Any) -> None:
        return None


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        # A `$1` statement (raw_cursor) cannot be rendered with its values by psycopg's
        # client-side mogrify; show it with its placeholders.
        if isinstance(cursor, psycopg.RawCursor):
            return sql
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    """Every table lives in the `payment` schema (`search_path=payment`), as the runbook's SQL
    expects; `migrate` calls `prepare_database()` first, so the schema exists before Django
    creates its first table in it."""

    SchemaEditorClass = DatabaseSchemaEditor
    ops_class = DatabaseOperations

    @property
    def pool(self) -> LastInFirstOutPool | None:
        """Django's pool (`OPTIONS["pool"]`, one per alias and process, opened by the first
        connection), built as a LastInFirstOutPool (config/db/pool.py)."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            checks = self.settings_dict["CONN_HEALTH_CHECKS"]
            pool = LastInFirstOutPool(
                # Django sets autocommit itself later; the pool opens connections in it.
                kwargs=self.get_connection_params() | {"autocommit": True},
                open=False,
                configure=self._configure_connection,
                check=LastInFirstOutPool.check_connection if checks else None,
                **({} if options is True else options),
            )
            # Threads racing here build one pool each; the first stored wins (none is open).
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def get_connection_params(self) -> dict[str, Any]:
        """Django's, kept while the pool built with them lives: connect() asks for them on
        every checkout from the pool, which ignores them."""
        pool = self._connection_pools.get(self.alias)
        kept = getattr(self, "_params_of_pool", None)
        if pool is not None and kept is not None and kept[0] is pool:
            return dict(kept[1])
        params = super().get_connection_params()
        if pool is not None:
            self._params_of_pool = (pool, params)
        return dict(params)

    def _set_autocommit(self, autocommit: bool) -> None:
        # A pooled connection comes back in autocommit, and connect() sets it again anyway.
        if self.connection.autocommit != autocommit:
            super()._set_autocommit(autocommit)

    def prepare_database(self) -> None:
        super().prepare_database()
        with self.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")

    @async_unsafe
    def raw_cursor(self) -> CursorWrapper:
        """A cursor for statements written with PostgreSQL's own `$1, $2…` placeholders.

        psycopg sends those as they are. With `%s` placeholders it parses and rewrites every
        statement, and caches that work only for statements under 50 parameters: the hot
        path's multi-row statements have ~100, and parsing them cost ~9 % of a payment's
        Python time. Same connection, transaction and query logging as `cursor()`."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(psycopg.RawCursor(self.connection))
