from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notes", "0004_imageupload"),
    ]

    operations = [
        migrations.AddField(
            model_name="noteimage",
            name="alt",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=250, verbose_name="image description"
            ),
        ),
    ]
