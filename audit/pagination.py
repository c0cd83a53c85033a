"""A paginator for admin lists over millions of rows: it never counts a whole table. Up to
COUNT_LIMIT rows are counted exactly (a LIMITed subquery); past that the count is PostgreSQL's
estimate for the whole table (pg_class.reltuples) when unfiltered, or COUNT_LIMIT ("10000+")."""

from typing import Any

from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        bounded = queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()
        if bounded <= COUNT_LIMIT:
            return bounded
        if not queryset.query.where:
            estimate = _table_estimate(queryset.model._meta.db_table)
            if estimate > COUNT_LIMIT:
                return estimate
        return COUNT_LIMIT


def _table_estimate(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table]
        )
        row: Any = cursor.fetchone()
    return int(row[0]) if row and row[0] else 0
