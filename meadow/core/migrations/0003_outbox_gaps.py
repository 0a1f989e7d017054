# A sibling of another branch's 0003 (both follow 0002_outbox): `makemigrations --merge` joins them.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxcursor",
            name="gaps",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
