"""The likes log's consumer (``engagement.likes``: a like's event, score and author total after its commit)
starts at the newest like: the likes before were recorded by the request that made them."""

from django.db import migrations

CONSUMERS = ["engagement.likes"]


def start_at_newest(apps, schema_editor):
    like = apps.get_model("engagement", "Like")
    cursor = apps.get_model("core", "OutboxCursor")
    newest = like.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for name in CONSUMERS:
        cursor.objects.get_or_create(consumer=name, defaults={"position": newest})


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0006_like_source"),
        ("core", "0002_outbox"),
    ]

    operations = [migrations.RunPython(start_at_newest, migrations.RunPython.noop)]
