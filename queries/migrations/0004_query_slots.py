"""Quarter-hour rollups of the query log for analytics, and feedback that knows when its
query was made (so a window's feedback is counted without joining the partitioned log)."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("queries", "0003_partition_query_log"),
    ]

    operations = [
        migrations.CreateModel(
            name="QueryRollupState",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("rolled_until", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="queryfeedback",
            name="query_created_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="QuerySlot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start", models.DateTimeField()),
                (
                    "kind",
                    models.CharField(choices=[("search", "Search"), ("ask", "Ask")], max_length=8),
                ),
                ("queries", models.PositiveIntegerField(default=0)),
                ("cached", models.PositiveIntegerField(default=0)),
                ("zero_results", models.PositiveIntegerField(default=0)),
                ("from_api_keys", models.PositiveIntegerField(default=0)),
                ("from_people", models.PositiveIntegerField(default=0)),
                ("degraded", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0)),
                ("prompt_tokens", models.BigIntegerField(default=0)),
                ("completion_tokens", models.BigIntegerField(default=0)),
                ("embedding_tokens", models.BigIntegerField(default=0)),
                (
                    "estimated_cost_usd",
                    models.DecimalField(decimal_places=6, default=0, max_digits=18),
                ),
                (
                    "answered_ms",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.FloatField(), default=list, size=None
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("start", "kind"), name="query_slot_unique")
                ],
            },
        ),
        migrations.RunSQL(
            "UPDATE queries_queryfeedback f SET query_created_at = q.created_at "
            "FROM queries_query q WHERE q.id = f.query_id AND f.query_created_at IS NULL",
            migrations.RunSQL.noop,
        ),
    ]
