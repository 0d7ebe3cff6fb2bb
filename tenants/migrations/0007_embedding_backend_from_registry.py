"""Tenant.embedding_backend loses its fixed choices: the embedder registry supplies them."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_lowercase_domains"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tenant",
            name="embedding_backend",
            field=models.CharField(
                blank=True,
                help_text="Blank: the platform default (EMBEDDING_BACKEND). After a change, run `manage.py reindex --tenant <schema>` (or the admin's reindex action).",
                max_length=32,
            ),
        ),
    ]
