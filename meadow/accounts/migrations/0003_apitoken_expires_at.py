"""API tokens expire: ``expires_at`` is added, and tokens issued before it expire MEADOW_API_TOKEN_DAYS after
they were issued (already past for old ones: those clients sign in again)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.db.models import F


def set_expiry(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    days = timedelta(days=settings.MEADOW_API_TOKEN_DAYS)
    ApiToken.objects.filter(expires_at__isnull=True).update(expires_at=F("created_at") + days)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_user_is_verified_enterprise")]

    operations = [
        migrations.AddField(
            model_name="apitoken", name="expires_at", field=models.DateTimeField(null=True, blank=True)
        ),
        migrations.RunPython(set_expiry, migrations.RunPython.noop),
        migrations.AlterField(model_name="apitoken", name="expires_at", field=models.DateTimeField()),
    ]
