"""Writing many rows in one statement where the ORM would take one per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def insert_new(rows: Sequence[models.Model], key: str) -> list[Any]:
    """Insert the rows whose unique `key` field is new; return the keys of those inserted.

    One statement, INSERT ... ON CONFLICT DO NOTHING RETURNING (PostgreSQL, SQLite 3.35+): a row
    written again (a redelivered event, an answer processed twice) or two writers racing store it
    once, in one round trip instead of a SELECT and an INSERT per row.
    """
    if not rows:
        return []
    meta = rows[0]._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    key_column = quote(next(field.column for field in fields if field.name == key))
    values: list[Any] = []
    for row in rows:
        values += [field.get_db_prep_save(field.pre_save(row, add=True), connection) for field in fields]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608
        f"VALUES {placeholders} ON CONFLICT ({key_column}) DO NOTHING RETURNING {key_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return [value for (value,) in cursor.fetchall()]
