"""Write several rows in one SQL statement (one round trip, atomic on its own).

The payment hot path is budgeted in Python CPU and round trips (see DESIGN.md's performance
notes): an ORM save per row plus BEGIN/COMMIT costs several times what one statement of
data-modifying CTEs does. These helpers take ordinary unsaved model instances, so the rows are
still built by the models and services that own them; only the sending is batched.
"""

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models

# Field classes (exactly these, not subclasses) whose database value is the Python value
# itself when that is None or of the listed types; anything else goes through Django's
# get_db_prep_save. Preparing ~100 values per payment the general way cost ~8 % of its CPU.
_PLAIN_FIELDS: dict[type[models.Field], tuple[type, ...]] = {
    models.CharField: (str,),
    models.TextField: (str,),
    models.EmailField: (str,),
    models.SlugField: (str,),
    models.BooleanField: (bool,),
    models.IntegerField: (int,),
    models.BigIntegerField: (int,),
    models.SmallIntegerField: (int,),
    models.PositiveIntegerField: (int,),
    models.PositiveSmallIntegerField: (int,),
    models.PositiveBigIntegerField: (int,),
}


def _plain_types(field: models.Field) -> tuple[type, ...]:
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    return _PLAIN_FIELDS.get(type(field), ())


@functools.cache
def _insert_shape(
    model: type[models.Model],
) -> tuple[str, tuple[tuple[models.Field, tuple[type, ...]], ...], str]:
    # Database-generated keys (BigAutoField) are left to the database.
    fields = tuple(
        field for field in model._meta.concrete_fields if field is not model._meta.auto_field
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    shape = tuple((field, _plain_types(field)) for field in fields)
    return connection.ops.quote_name(model._meta.db_table), shape, f"({columns})"


@functools.cache
def placeholders(first: int, count: int) -> str:
    """`$first, …` for `count` parameters (statements for `connection.raw_cursor()`)."""
    return ", ".join(f"${number}" for number in range(first, first + count))


@dataclass(frozen=True)
class Statement:
    """A data-modifying statement (with `%s` placeholders) that a service owns and asks
    `insert_rows` or `update_where_then_insert` to run inside their one statement."""

    sql: str
    params: Sequence[Any] = ()


@functools.lru_cache(maxsize=64)
def _numbered(sql: str, first: int) -> str:
    parts = sql.split("%s")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=first):
        out += [f"${number}", part]
    return "".join(out)


def _embed(statement: Statement, params: list[Any]) -> str:
    """`statement`'s SQL numbered to follow `params`, whose list it joins."""
    sql = _numbered(statement.sql, len(params) + 1)
    params.extend(statement.params)
    return sql


def _value(instance: models.Model, field: models.Field) -> Any:
    # Unlike Model.save(), a timestamp the caller already set is kept: a row and an event
    # describing it can then carry the very same created_at.
    if getattr(field, "auto_now_add", False) and getattr(instance, field.attname) is not None:
        return getattr(instance, field.attname)
    return field.pre_save(instance, True)


def _row(instance: models.Model) -> tuple[str, str, list[Any]]:
    table, shape, columns = _insert_shape(type(instance))
    params = []
    for field, plain_types in shape:
        value = _value(instance, field)
        if value is not None and type(value) not in plain_types:
            value = field.get_db_prep_save(value, connection)
        params.append(value)
    return table, columns, params


def insert_rows(*instances: models.Model, guard: Statement | None = None) -> Any:
    """INSERT every instance in one statement. Database-generated primary keys are not read
    back: use this for rows nobody reads in the same request (or with client-side ids).

    With `guard` (a statement ending in `RETURNING <one value>`), the statement runs it first
    and inserts the rows only if it returned its row; the value is returned (None: it did not,
    and nothing was inserted)."""
    ctes: list[str] = []
    params: list[Any] = []
    if guard is not None:
        ctes.append(f"guard AS ({_embed(guard, params)})")
    source = "SELECT {} FROM guard" if guard is not None else "VALUES ({})"
    for index, instance in enumerate(instances):
        table, columns, row_params = _row(instance)
        values = source.format(placeholders(len(params) + 1, len(row_params)))
        ctes.append(f"i{index} AS (INSERT INTO {table} {columns} {values})")
        params.extend(row_params)
    final = "SELECT * FROM guard" if guard is not None else "SELECT 1"
    with connection.raw_cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} {final}", params)
        row = cursor.fetchone()
    if row is None:
        return None
    for instance in instances:
        instance._state.adding = False
    return row[0] if guard is not None else None


def update_where_then_insert(
    instance: models.Model,
    *,
    expected: Mapping[str, Any],
    changes: Sequence[str],
    inserts: Sequence[models.Model] = (),
    then: Sequence[Statement] = (),
) -> bool:
    """Compare-and-set: UPDATE `instance`'s row with the values of its fields named in
    `changes` only if its columns still hold `expected`; insert `inserts` only if it did.
    One statement: the row lock, the check, the update and the inserts succeed or fail
    together. Returns whether the row matched.

    `then`: further statements of other services run in the same statement; each must apply
    only when the row matched, by reading the CTE `guard` (`… WHERE EXISTS (SELECT FROM
    guard)`)."""
    model = type(instance)
    meta = model._meta
    quote = connection.ops.quote_name
    assignments: list[str] = []
    params: list[Any] = []
    for name in changes:
        field = meta.get_field(name)
        value = (
            field.pre_save(instance, False)
            if getattr(field, "auto_now", False)
            else getattr(instance, field.attname)
        )
        params.append(field.get_db_prep_save(value, connection))
        assignments.append(f"{quote(field.column)} = ${len(params)}")
    params.append(instance.pk)
    conditions = [f"{quote(meta.pk.column)} = ${len(params)}"]
    for name, value in expected.items():
        field = meta.get_field(name)
        params.append(field.get_db_prep_save(value, connection))
        conditions.append(f"{quote(field.column)} = ${len(params)}")
    ctes = [
        f"guard AS (UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {' AND '.join(conditions)} RETURNING 1)"
    ]
    for index, row in enumerate(inserts):
        table, columns, row_params = _row(row)
        values = placeholders(len(params) + 1, len(row_params))
        ctes.append(f"i{index} AS (INSERT INTO {table} {columns} SELECT {values} FROM guard)")
        params.extend(row_params)
    for index, statement in enumerate(then):
        ctes.append(f"s{index} AS ({_embed(statement, params)})")
    with connection.raw_cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT count(*) FROM guard", params)
        matched = cursor.fetchone()[0] == 1
    if matched:
        for row in inserts:
            row._state.adding = False
    return matched
