from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_groups_images")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="system",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
    ]
