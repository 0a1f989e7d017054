"""The RUM extension for search on PostgreSQL: whether the server offers it, and creating the extension and the
index (``meadow search_rum``; migration ``search/0004`` creates only the extension). See
``meadow.search.backends.RumBackend`` for how search uses it (opt-in: ``MEADOW_SEARCH_RUM``)."""

from __future__ import annotations

from django.db import connection, transaction

from meadow.search.backends import RUM_INDEX, _rum_indexes

INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {RUM_INDEX} ON search_notedoc "
    "USING rum (tsv rum_tsvector_addon_ops, static_rank) "
    "WITH (attach = 'static_rank', to = 'tsv', order_by_attach = 't')"
)


def rum_state() -> str:
    """``"index"`` (search uses RUM), ``"available"`` (the server offers the extension; the index is missing),
    ``"missing"`` (the server does not offer it) or ``""`` (not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = %s), "
            "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'rum')",
            [RUM_INDEX],
        )
        index, available = cursor.fetchone()
    if index:
        return "index"
    return "available" if available else "missing"


def rum_create() -> None:
    """Create the extension (if need be) and the index; raises ``DatabaseError`` if the server refuses (no such
    extension, or not allowed to create it)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS rum")
        cursor.execute(INDEX_SQL)
    _rum_indexes.clear()
