"""Write several rows in one SQL statement (one round trip, atomic on its own).

The payment hot path is budgeted in Python CPU and round trips (see DESIGN.md's performance
notes): an ORM save per row plus BEGIN/COMMIT costs several times what one statement of
data-modifying CTEs does. These helpers take ordinary unsaved model instances, so the rows are
still built by the models and services that own them; only the sending is batched.
"""

import datetime as dt
import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from django.db import connection, models
from psycopg.types.json import Jsonb

_TEXT_FIELDS = (models.CharField, models.TextField, models.EmailField, models.SlugField)
_INTEGER_FIELDS = (
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
)


def json_dumps(value: Any) -> bytes | str:
    """A JSON column's value as JSON text: orjson, which writes a payment's seven JSON values
    (audit snapshots, the event, the fraud check) for ~3 % of its CPU less than json.dumps;
    json.dumps for what orjson refuses (integers beyond 64 bits). Non-string keys become
    strings, as json.dumps makes them."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value)


def _database_value(field: models.Field) -> Callable[[Any], Any]:
    """How `field`'s (non-None) value becomes its database value: as it is for the values
    whose preparation by Django is the identity on PostgreSQL (text, with TextChoices members
    as plain str; exact ints and bools; aware datetimes; UUIDs; bytes), wrapped for JSON, and
    through Django's get_db_prep_save for anything else. Preparing ~100 values per payment
    the general way cost ~8 % of its CPU."""
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    kind = type(target)

    def general(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    if kind in _TEXT_FIELDS:
        # TextChoices members go as plain str: psycopg finds a str subclass's dumper by
        # walking its MRO on every cursor (15 such walks per payment, ~2 % of its CPU).
        return lambda value: (
            value
            if type(value) is str
            else str.__str__(value)
            if isinstance(value, str)
            else general(value)
        )
    if kind in _INTEGER_FIELDS:
        return lambda value: value if type(value) is int else general(value)
    if kind is models.BooleanField:
        return lambda value: value if type(value) is bool else general(value)
    if kind is models.DateTimeField:
        return lambda value: (
            value if isinstance(value, dt.datetime) and value.tzinfo else general(value)
        )
    if kind is models.UUIDField:
        return lambda value: value if isinstance(value, uuid.UUID) else general(value)
    if kind is models.BinaryField:
        return lambda value: value if type(value) is bytes else general(value)
    if kind is models.JSONField and target.encoder is None:
        return lambda value: (
            Jsonb(value, dumps=json_dumps) if type(value) in (dict, list) else general(value)
        )
    return general


class _Column(NamedTuple):
    field: models.Field
    attname: str
    own_pre_save: bool  # e.g. auto_now/auto_now_add timestamps
    database_value: Callable[[Any], Any]


@functools.cache
def _insert_shape(model: type[models.Model]) -> tuple[str, tuple[_Column, ...], str]:
    # Database-generated keys (BigAutoField) are left to the database.
    fields = tuple(
        field for field in model._meta.concrete_fields if field is not model._meta.auto_field
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    shape = tuple(
        _Column(
            field,
            field.attname,
            type(field).pre_save is not models.Field.pre_save,
            _database_value(field),
        )
        for field in fields
    )
    return connection.ops.quote_name(model._meta.db_table), shape, f"({columns})"


@functools.cache
def _columns_by_name(model: type[models.Model]) -> dict[str, _Column]:
    _, shape, _ = _insert_shape(model)
    return {column.field.name: column for column in shape}


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


def _row(instance: models.Model) -> tuple[str, str, list[Any]]:
    table, shape, columns = _insert_shape(type(instance))
    params = []
    for field, attname, own_pre_save, database_value in shape:
        value = getattr(instance, attname)
        # Unlike Model.save(), a timestamp the caller already set is kept (auto_now_add):
        # a row and an event describing it can then carry the very same created_at.
        if own_pre_save and not (value is not None and getattr(field, "auto_now_add", False)):
            value = field.pre_save(instance, True)
        params.append(None if value is None else database_value(value))
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
    columns = _columns_by_name(model)
    assignments: list[str] = []
    params: list[Any] = []
    for name in changes:
        column = columns[name]
        value = (
            column.field.pre_save(instance, False)
            if getattr(column.field, "auto_now", False)
            else getattr(instance, column.attname)
        )
        params.append(None if value is None else column.database_value(value))
        assignments.append(f"{quote(column.field.column)} = ${len(params)}")
    params.append(instance.pk)
    conditions = [f"{quote(meta.pk.column)} = ${len(params)}"]
    for name, value in expected.items():
        column = columns[name]
        params.append(None if value is None else column.database_value(value))
        conditions.append(f"{quote(column.field.column)} = ${len(params)}")
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
