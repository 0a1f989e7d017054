# Numbered 0003: h/arch adds 0002_outbox to this app; a merge of the two needs a merge migration
# (``meadow makemigrations core --merge``), not a renumbering.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_job_run"),
    ]

    operations = [
        migrations.CreateModel(
            name="SpooledTask",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("task", models.CharField(max_length=200)),
                ("args", models.JSONField(default=list)),
                ("kwargs", models.JSONField(default=dict)),
                ("options", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("last_error", models.TextField(blank=True, default="")),
                ("last_attempt_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name": "spooled task",
                "verbose_name_plural": "spooled tasks",
            },
        ),
    ]
