"""The full-text index over ``search_notedoc`` for the database in use (see ``meadow.search.models``)."""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE search_note_fts USING fts5("
    "title, tags, body, content='search_notedoc', content_rowid='note_id', tokenize='unicode61')",
    "CREATE TRIGGER search_notedoc_ai AFTER INSERT ON search_notedoc BEGIN "
    "INSERT INTO search_note_fts(rowid, title, tags, body) VALUES (new.note_id, new.title, new.tags, new.body); "
    "END",
    "CREATE TRIGGER search_notedoc_ad AFTER DELETE ON search_notedoc BEGIN "
    "INSERT INTO search_note_fts(search_note_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.note_id, old.title, old.tags, old.body); "
    "END",
    "CREATE TRIGGER search_notedoc_au AFTER UPDATE ON search_notedoc BEGIN "
    "INSERT INTO search_note_fts(search_note_fts, rowid, title, tags, body) "
    "VALUES ('delete', old.note_id, old.title, old.tags, old.body); "
    "INSERT INTO search_note_fts(rowid, title, tags, body) VALUES (new.note_id, new.title, new.tags, new.body); "
    "END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS search_notedoc_au",
    "DROP TRIGGER IF EXISTS search_notedoc_ad",
    "DROP TRIGGER IF EXISTS search_notedoc_ai",
    "DROP TABLE IF EXISTS search_note_fts",
]
POSTGRES_FORWARD = [
    "ALTER TABLE search_notedoc ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, tags), 'B') || "
    "setweight(to_tsvector('simple'::regconfig, body), 'D')) STORED",
    "CREATE INDEX search_notedoc_tsv_gin ON search_notedoc USING gin (tsv)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS search_notedoc_tsv_gin",
    "ALTER TABLE search_notedoc DROP COLUMN IF EXISTS tsv",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
