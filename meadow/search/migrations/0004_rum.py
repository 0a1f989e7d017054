"""The RUM extension for search on PostgreSQL, where the server offers it (Debian's ``postgresql-15-rum``; see
docs/operations.md "Search on PostgreSQL"): created so that ``meadow search_rum`` can later build the RUM index
without a superuser. The index itself is not built here: search uses it only when ``MEADOW_SEARCH_RUM`` is on,
which is off by default (at a million notes RUM 1.3 was slower than the GIN path; bench/RESULTS.md), and it is
as large as the table. Without the extension, or without the right to create it, nothing happens. SQLite: nothing
(the embedded default keeps FTS5)."""

from django.db import DatabaseError, migrations, transaction

AVAILABLE = "SELECT 1 FROM pg_available_extensions WHERE name = 'rum'"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(AVAILABLE)
        if cursor.fetchone() is None:
            return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS rum")
    except (
        DatabaseError
    ):  # offered but not ours to create (not a superuser): `meadow search_rum` says so later
        return


class Migration(migrations.Migration):
    dependencies = [("search", "0003_static_rank")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
