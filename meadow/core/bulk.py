"""Bulk loading for imports and seeding (``meadow demo``): PostgreSQL's ``COPY … FROM STDIN`` (psycopg 3's
``cursor.copy``), several times faster than INSERT and without Django model instances.

``BulkTable(Model, ["note_id", "at", …])`` names the fields a caller gives per row (attribute names, in row
order); every other concrete column is filled with its field's default, evaluated once (a column with neither a
value nor a default is refused when the table is described, so a new required field fails loudly instead of
writing NULLs). Values go to COPY as they are: give plain Python values (ints, strings, datetimes, floats) —
nothing is converted by the field (no ``auto_now``, no JSON encoding of given values).

PostgreSQL only; the callers keep a ``bulk_create`` path for SQLite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connections
from django.db.models import Model


class BulkTable:
    """A table described once for many ``copy`` calls: the given fields, then the defaulted ones."""

    def __init__(self, model: type[Model], fields: Sequence[str], *, using: str = "default") -> None:
        meta = model._meta
        by_attname = {f.attname: f for f in meta.concrete_fields}
        unknown = [name for name in fields if name not in by_attname]
        if unknown:
            raise ValueError(f"{meta.label} has no column for {', '.join(unknown)}")
        given = list(fields)
        rest, tail = [], []
        for f in meta.concrete_fields:
            if f.attname in given or getattr(f, "generated", False):
                continue
            if f.primary_key and f.get_internal_type().endswith("AutoField"):
                continue  # the identity column numbers the rows
            if f.has_default():
                value: Any = f.get_default()
            elif f.null:
                value = None
            else:
                raise ValueError(f"{meta.label}.{f.attname} has no default: give it in every row")
            rest.append(f)
            tail.append(f.get_db_prep_save(value, connections[using]))
        self.model = model
        self.table = meta.db_table
        self.columns = [by_attname[name].column for name in given] + [f.column for f in rest]
        self.tail = tuple(tail)

    def copy(self, rows: Iterable[Sequence[Any]], *, using: str = "default") -> int:
        """COPY ``rows`` (tuples of the given fields, in order) into the table, in the current transaction.
        Returns the number of rows written."""
        connection = connections[using]
        if connection.vendor != "postgresql":
            raise RuntimeError("BulkTable.copy needs PostgreSQL (use bulk_create elsewhere)")
        quote = connection.ops.quote_name
        sql = f"COPY {quote(self.table)} ({', '.join(quote(c) for c in self.columns)}) FROM STDIN"
        tail, written = self.tail, 0
        connection.ensure_connection()
        with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            if tail:
                for row in rows:
                    write((*row, *tail))
                    written += 1
            else:
                for row in rows:
                    write(row)
                    written += 1
        return written


def ids_reserve(model: type[Model], count: int, *, using: str = "default") -> list[int]:
    """``count`` fresh primary keys from the table's identity sequence (PostgreSQL), for rows that are then
    written with COPY together with the rows that point to them."""
    if count <= 0:
        return []
    connection = connections[using]
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def models_copy(model: type[Model], objs: Sequence[Model], *, using: str = "default") -> int:
    """COPY unsaved model instances whose ids are not needed back (PostgreSQL). Fields that compute or convert
    their value (``auto_now`` dates, JSON) take Django's path; plain values go as they are."""
    if not objs:
        return 0
    connection = connections[using]
    fields = [
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and f.get_internal_type().endswith("AutoField"))
        and not getattr(f, "generated", False)
    ]
    slow = [
        getattr(f, "auto_now", False)
        or getattr(f, "auto_now_add", False)
        or f.get_internal_type() == "JSONField"
        for f in fields
    ]
    table = BulkTable(model, [f.attname for f in fields], using=using)
    attnames = [f.attname for f in fields]
    return table.copy(
        (
            [
                f.get_db_prep_save(f.pre_save(obj, True), connection) if convert else obj.__dict__[name]
                for f, name, convert in zip(fields, attnames, slow, strict=True)
            ]
            for obj in objs
        ),
        using=using,
    )


def tables_analyze(models: Sequence[type[Model]], *, using: str = "default") -> None:
    """Refresh PostgreSQL's planner statistics of tables a bulk load just filled (no-op elsewhere). Until
    autovacuum gets to them the planner believes they are as small as before the load: at a million notes the
    hashtag recount after ``meadow demo`` ran as a nested loop for minutes instead of one hash join."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not models:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(quote(m._meta.db_table) for m in models))
