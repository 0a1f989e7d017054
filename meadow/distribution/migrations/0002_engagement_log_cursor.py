"""Interest learning reads the engagement event log with a cursor (meadow.core.outbox) instead of a task per
event: the cursor starts at the newest event, so a deploy does not learn the whole history again."""

from django.db import migrations

CONSUMERS = ["distribution.interests_engagement"]


def start_at_newest(apps, schema_editor):
    event = apps.get_model("engagement", "EngagementEvent")
    cursor = apps.get_model("core", "OutboxCursor")
    newest = event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for name in CONSUMERS:
        cursor.objects.get_or_create(consumer=name, defaults={"position": newest})


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0001_initial"),
        ("core", "0002_outbox"),
        ("engagement", "0004_event_comment"),
    ]

    operations = [migrations.RunPython(start_at_newest, migrations.RunPython.noop)]
