"""Chunk.search_vector reads angle brackets as spaces (documents.models.words_of).

PostgreSQL cannot change a generated column's expression, so the column (and its GIN index)
is dropped and added again: PostgreSQL recomputes it for every chunk while it rewrites the
table (seconds per 100k chunks, per tenant schema). Stored BM25 matrices built from the old
vectors are ignored afterwards (queries.bm25.build_settings names the analysis version).
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.comparison
from django.db import migrations, models


def _words_of(text):
    return models.Func(
        text,
        models.Value("<>"),
        models.Value("  "),
        function="translate",
        output_field=models.TextField(),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("documents", "0003_chunk_neighbours_cascade_in_database"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="chunk", name="chunk_search_gin"),
        migrations.RemoveField(model_name="chunk", name="search_vector"),
        migrations.AddField(
            model_name="chunk",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.contrib.postgres.search.CombinedSearchVector(
                    django.contrib.postgres.search.SearchVector(
                        _words_of(
                            django.db.models.functions.comparison.Coalesce(
                                "section", models.Value("")
                            )
                        ),
                        config="english",
                        weight="A",
                    ),
                    "||",
                    django.contrib.postgres.search.SearchVector(
                        _words_of(models.F("text")), config="english", weight="B"
                    ),
                    django.contrib.postgres.search.SearchConfig("english"),
                ),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="chunk",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["search_vector"], name="chunk_search_gin"
            ),
        ),
    ]
