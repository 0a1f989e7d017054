"""API tokens carry the password stamp of the account when they were issued, so that any password change (even
``meadow changepassword`` or the shell, which bypass the services) revokes them. Live tokens issued before this
migration get their account's current stamp: they keep working until the next password change."""

from django.db import migrations, models

from meadow.accounts.selectors import user_password_stamp


def stamp_live_tokens(apps, schema_editor):
    ApiToken = apps.get_model("accounts", "ApiToken")
    User = apps.get_model("accounts", "User")
    users = User.objects.filter(api_tokens__revoked_at__isnull=True).distinct().only("pk", "password")
    for user in users.iterator(chunk_size=1000):
        ApiToken.objects.filter(user_id=user.pk, password_stamp="").update(
            password_stamp=user_password_stamp(user=user)
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_apitoken_expires_at")]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="password_stamp",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.RunPython(stamp_live_tokens, migrations.RunPython.noop),
    ]
