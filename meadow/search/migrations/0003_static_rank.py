"""Static rank (``NoteSearchDoc.static_rank``, see ``meadow.search.backends``): the column, its set-based backfill
from the notes' counters (one UPDATE, whatever the number of documents) with the engagement-event watermark the
refresh task continues from, then its btree index. On SQLite the FTS5
update trigger is narrowed to the text columns, so refreshing a static rank does not re-index the text."""

import django.utils.timezone
from django.db import migrations, models

# Frozen copies of meadow.search.backends' constants at the time of this migration.
ENGAGEMENT_WEIGHT = 0.15
FRESHNESS_HALF_LIFE_DAYS = 60.0
LAMBDA = 0.6931471805599453 / (FRESHNESS_HALF_LIFE_DAYS * 86400.0)  # per second
ENGAGEMENT = (
    f"LN(1.0 + {ENGAGEMENT_WEIGHT} * LN(CAST(1 + n.like_count + 2 * n.save_count + 3 * n.comment_count "
    "AS DOUBLE PRECISION)))"
)

BACKFILL = {
    "postgresql": [
        f"UPDATE search_notedoc d SET static_rank = {ENGAGEMENT} + {LAMBDA!r} * d.published_ts "
        "FROM notes_note n WHERE n.id = d.note_id"
    ],
    "sqlite": [
        f"UPDATE search_notedoc SET static_rank = (SELECT {ENGAGEMENT} FROM notes_note n "
        f"WHERE n.id = search_notedoc.note_id) + {LAMBDA!r} * published_ts",
        # Adding the column rebuilt the table on SQLite, and its triggers went with it: create them again (the
        # update trigger only for the text columns) and rebuild the FTS5 index from its content table.
        "DROP TRIGGER IF EXISTS search_notedoc_ai",
        "DROP TRIGGER IF EXISTS search_notedoc_ad",
        "DROP TRIGGER IF EXISTS search_notedoc_au",
        "CREATE TRIGGER search_notedoc_ai AFTER INSERT ON search_notedoc BEGIN "
        "INSERT INTO search_note_fts(rowid, title, tags, body) VALUES (new.note_id, new.title, new.tags, new.body); "
        "END",
        "CREATE TRIGGER search_notedoc_ad AFTER DELETE ON search_notedoc BEGIN "
        "INSERT INTO search_note_fts(search_note_fts, rowid, title, tags, body) "
        "VALUES ('delete', old.note_id, old.title, old.tags, old.body); "
        "END",
        "CREATE TRIGGER search_notedoc_au AFTER UPDATE OF title, tags, body ON search_notedoc BEGIN "
        "INSERT INTO search_note_fts(search_note_fts, rowid, title, tags, body) "
        "VALUES ('delete', old.note_id, old.title, old.tags, old.body); "
        "INSERT INTO search_note_fts(rowid, title, tags, body) VALUES (new.note_id, new.title, new.tags, new.body); "
        "END",
        "INSERT INTO search_note_fts(search_note_fts) VALUES ('rebuild')",
    ],
}
# Undoing: once the column is gone (another table rebuild on SQLite), the triggers of search/0002.
RESTORE = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS search_notedoc_ai",
        "DROP TRIGGER IF EXISTS search_notedoc_ad",
        "DROP TRIGGER IF EXISTS search_notedoc_au",
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
        "INSERT INTO search_note_fts(search_note_fts) VALUES ('rebuild')",
    ],
}


def _watermark(apps, schema_editor):
    """Engagement before now is in the backfill: the refresh task starts after the newest event."""
    event = apps.get_model("engagement", "EngagementEvent")
    refresh = apps.get_model("search", "RankRefresh")
    last = (
        event.objects.using(schema_editor.connection.alias)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    refresh.objects.using(schema_editor.connection.alias).update_or_create(
        pk=1, defaults={"last_event_id": last or 0}
    )


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0002_load_taxonomy"),
        ("engagement", "0001_initial"),
        ("search", "0002_fulltext"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _run(RESTORE)),
        migrations.CreateModel(
            name="RankRefresh",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("last_event_id", models.BigIntegerField(default=0)),
                ("refreshed_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name": "search rank refresh",
                "verbose_name_plural": "search rank refreshes",
            },
        ),
        migrations.AddField(
            model_name="notesearchdoc",
            name="static_rank",
            field=models.FloatField(default=0.0),
        ),
        migrations.RunPython(_run(BACKFILL), migrations.RunPython.noop),
        migrations.RunPython(_watermark, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="notesearchdoc",
            index=models.Index(fields=["static_rank"], name="search_notedoc_static_rank"),
        ),
    ]
