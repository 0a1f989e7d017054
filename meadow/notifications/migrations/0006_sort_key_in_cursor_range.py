"""The ordering key was microseconds × 1024 (about 1.8e18), past the 10**18 a page cursor holds, so paging past
the first page failed. Keys are now microseconds × 64; this rescales the old ones (÷ 16 keeps their order and puts
them on the new scale, so old and new rows interleave by time)."""

from django.db import migrations
from django.db.models import F

OLD_LIMIT = 10**18


def rescale_sort_keys(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    # Integer division on every backend: an integer column divided by an integer.
    Notification.objects.filter(sort_key__gte=OLD_LIMIT).update(sort_key=F("sort_key") / 16)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_push_subscription_preferences")]

    operations = [migrations.RunPython(rescale_sort_keys, migrations.RunPython.noop)]
