"""The precomputed Following feed's outbox consumers start at the newest event: feeds are built on a reader's
first request, so a deploy has no history to fan out again."""

from django.db import migrations

CONSUMERS = ["distribution.following_notes", "distribution.following_follows"]


def start_at_newest(apps, schema_editor):
    event = apps.get_model("core", "OutboxEvent")
    cursor = apps.get_model("core", "OutboxCursor")
    newest = event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for name in CONSUMERS:
        cursor.objects.get_or_create(consumer=name, defaults={"position": newest})


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0004_following_feed"),
        ("core", "0002_outbox"),
    ]

    operations = [migrations.RunPython(start_at_newest, migrations.RunPython.noop)]
