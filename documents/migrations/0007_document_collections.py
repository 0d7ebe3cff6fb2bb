from django.db import migrations, models

# Every document of a workspace that had no collections goes into its default one.
INTO_DEFAULT = """
    INSERT INTO documents_document_collections (document_id, collection_id)
    SELECT d.id, c.id FROM documents_document d
    JOIN accounts_collection c ON c.is_default
    ON CONFLICT DO NOTHING
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_collections"),
        ("documents", "0006_document_ocr_pages"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="collections",
            field=models.ManyToManyField(
                blank=True, related_name="documents", to="accounts.collection"
            ),
        ),
        migrations.AddField(
            model_name="indexstate",
            name="access_seq",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunSQL(INTO_DEFAULT, migrations.RunSQL.noop),
    ]
