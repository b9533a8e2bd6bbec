from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("dedup", "0002_journal_derived"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="indexchange",
            index=models.Index(
                condition=models.Q(("places__isnull", False), ("bands__isnull", False), _connector="OR"),
                fields=["seq"],
                name="journal_carrying",
            ),
        ),
    ]
