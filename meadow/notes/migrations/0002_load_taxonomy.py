"""Load the shipped interest taxonomy (meadow/notes/data/taxonomy.json). ``meadow taxonomy --load`` re-runs it
after an upgrade that changes the file."""

import json
from pathlib import Path

from django.db import migrations

TAXONOMY = Path(__file__).resolve().parent.parent / "data" / "taxonomy.json"


def load(apps, schema_editor):
    InterestCategory = apps.get_model("notes", "InterestCategory")
    data = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    for position, entry in enumerate(data["categories"]):
        keywords = []
        for words in entry["keywords"].values():
            keywords.extend(w for w in words if w not in keywords)
        InterestCategory.objects.update_or_create(
            slug=entry["slug"],
            defaults={
                "name_en": entry["names"]["en"],
                "name_zh": entry["names"]["zh"],
                "name_ms": entry["names"]["ms"],
                "keywords": keywords,
                "position": position,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
