"""Collaborative-filtering models written by versions before the private storage (``models/cf-*.npz`` and the
``models/cf-current.txt`` pointer under the public media root, which map user ids to the notes they engaged
with) are deleted at upgrade, not left public until the next retrain. Nothing is lost: the next training run
writes a new model to the private storage, and until then Discover works without CF candidates."""

from django.db import migrations


def remove_public_models(apps, schema_editor):
    from meadow.distribution.cf_store import _remove_public_models

    _remove_public_models()


class Migration(migrations.Migration):
    dependencies = [("distribution", "0001_initial")]

    operations = [migrations.RunPython(remove_public_models, migrations.RunPython.noop, elidable=True)]
