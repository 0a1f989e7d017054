"""Default boards were created with the name "Saved" translated into the language active at that moment; from
now on their name is empty and each reader sees it in their own language (``Board.title``)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Board = apps.get_model("engagement", "Board")
    Board.objects.filter(is_default=True).update(name="")


def backwards(apps, schema_editor):
    Board = apps.get_model("engagement", "Board")
    Board.objects.filter(is_default=True, name="").update(name="Saved")


class Migration(migrations.Migration):
    dependencies = [("engagement", "0002_not_interested_undo")]

    operations = [migrations.RunPython(forwards, backwards)]
