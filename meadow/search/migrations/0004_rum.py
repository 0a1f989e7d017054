"""The RUM index for search on PostgreSQL (``meadow.search.backends.RumBackend``), where the server offers the
extension (Debian's ``postgresql-15-rum``; see docs/operations.md "Search on PostgreSQL"): ``tsv`` with
``static_rank`` attached and each posting list ordered by it, so that the matches come out of the index in
static-rank order. Without the extension nothing happens and search keeps the GIN path (``meadow check`` warns,
``meadow.W002``); installing it later and running ``meadow search_rum`` creates the same index. SQLite: nothing
(the embedded default keeps FTS5)."""

from django.db import DatabaseError, migrations, transaction

# Frozen copies of meadow.search.rum's statements at the time of this migration.
AVAILABLE = "SELECT 1 FROM pg_available_extensions WHERE name = 'rum'"
EXTENSION = "CREATE EXTENSION IF NOT EXISTS rum"
INDEX = (
    "CREATE INDEX IF NOT EXISTS search_notedoc_tsv_rum ON search_notedoc "
    "USING rum (tsv rum_tsvector_addon_ops, static_rank) "
    "WITH (attach = 'static_rank', to = 'tsv', order_by_attach = 't')"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(AVAILABLE)
        if cursor.fetchone() is None:
            return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute(EXTENSION)
    except DatabaseError:  # offered but not ours to create (not a superuser): the GIN path, and a warning
        return
    schema_editor.execute(INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_notedoc_tsv_rum")


class Migration(migrations.Migration):
    dependencies = [("search", "0003_static_rank")]

    operations = [migrations.RunPython(forward, backward)]
