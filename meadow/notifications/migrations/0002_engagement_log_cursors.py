"""Notifications read the engagement event log and the comment likes with cursors (meadow.core.outbox) instead
of a task per action: the cursors start at the newest rows, so a deploy does not notify the whole history."""

from django.db import migrations

CURSORS = {
    "notifications.engagement": "EngagementEvent",
    "notifications.comment_likes": "CommentLike",
}


def start_at_newest(apps, schema_editor):
    cursor = apps.get_model("core", "OutboxCursor")
    for name, model in CURSORS.items():
        rows = apps.get_model("engagement", model)
        newest = rows.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        cursor.objects.get_or_create(consumer=name, defaults={"position": newest})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("core", "0002_outbox"),
        ("engagement", "0004_event_comment"),
    ]

    operations = [migrations.RunPython(start_at_newest, migrations.RunPython.noop)]
