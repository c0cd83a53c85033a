"""Write several rows in one SQL statement (one round trip, atomic on its own).

The payment hot path is budgeted in Python CPU and round trips (see DESIGN.md's performance
notes): an ORM save per row plus BEGIN/COMMIT costs several times what one statement of
data-modifying CTEs does. These helpers take ordinary unsaved model instances, so the rows are
still built by the models and services that own them; only the sending is batched.
"""

import functools
from collections.abc import Mapping, Sequence
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
) -> tuple[str, tuple[tuple[models.Field, tuple[type, ...]], ...], str, str]:
    # Database-generated keys (BigAutoField) are left to the database.
    fields = tuple(
        field for field in model._meta.concrete_fields if field is not model._meta.auto_field
    )
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    shape = tuple((field, _plain_types(field)) for field in fields)
    return connection.ops.quote_name(model._meta.db_table), shape, f"({columns})", placeholders


def _value(instance: models.Model, field: models.Field) -> Any:
    # Unlike Model.save(), a timestamp the caller already set is kept: a row and an event
    # describing it can then carry the very same created_at.
    if getattr(field, "auto_now_add", False) and getattr(instance, field.attname) is not None:
        return getattr(instance, field.attname)
    return field.pre_save(instance, True)


def _row(instance: models.Model) -> tuple[str, str, str, list[Any]]:
    table, shape, columns, placeholders = _insert_shape(type(instance))
    params = []
    for field, plain_types in shape:
        value = _value(instance, field)
        if value is not None and type(value) not in plain_types:
            value = field.get_db_prep_save(value, connection)
        params.append(value)
    return table, columns, placeholders, params


def insert_rows(*instances: models.Model) -> None:
    """INSERT every instance in one statement. Database-generated primary keys are not read
    back: use this for rows nobody reads in the same request (or with client-side ids)."""
    ctes, params = [], []
    *leading, last = [_row(instance) for instance in instances]
    for index, (table, columns, placeholders, row_params) in enumerate(leading):
        ctes.append(f"i{index} AS (INSERT INTO {table} {columns} VALUES ({placeholders}))")
        params.extend(row_params)
    table, columns, placeholders, row_params = last
    params.extend(row_params)
    prefix = f"WITH {', '.join(ctes)} " if ctes else ""
    with connection.cursor() as cursor:
        cursor.execute(f"{prefix}INSERT INTO {table} {columns} VALUES ({placeholders})", params)
    for instance in instances:
        instance._state.adding = False


def update_where_then_insert(
    instance: models.Model,
    *,
    expected: Mapping[str, Any],
    changes: Sequence[str],
    inserts: Sequence[models.Model] = (),
) -> bool:
    """Compare-and-set: UPDATE `instance`'s row with the values of its fields named in
    `changes` only if its columns still hold `expected`; insert `inserts` only if it did.
    One statement: the row lock, the check, the update and the inserts succeed or fail
    together. Returns whether the row matched."""
    model = type(instance)
    meta = model._meta
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name in changes:
        field = meta.get_field(name)
        value = (
            field.pre_save(instance, False)
            if getattr(field, "auto_now", False)
            else getattr(instance, field.attname)
        )
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    conditions = [f"{quote(meta.pk.column)} = %s"]
    params.append(instance.pk)
    for name, value in expected.items():
        field = meta.get_field(name)
        conditions.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    ctes = [
        f"guard AS (UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {' AND '.join(conditions)} RETURNING 1)"
    ]
    for index, row in enumerate(inserts):
        table, columns, placeholders, row_params = _row(row)
        ctes.append(f"i{index} AS (INSERT INTO {table} {columns} SELECT {placeholders} FROM guard)")
        params.extend(row_params)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(ctes)} SELECT count(*) FROM guard", params)
        matched = cursor.fetchone()[0] == 1
    if matched:
        for row in inserts:
            row._state.adding = False
    return matched
