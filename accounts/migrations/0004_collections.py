import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django_tenants.utils import get_public_schema_name


def create_default_collection(apps, schema_editor):
    # accounts is also a shared app: the public schema (operators) holds no documents.
    if getattr(schema_editor.connection, "schema_name", "") == get_public_schema_name():
        return
    Collection = apps.get_model("accounts", "Collection")
    if not Collection.objects.filter(is_default=True).exists():
        Collection.objects.create(name="General", is_default=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_access_revoked_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="collections_limited",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="Collection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("is_default", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["-is_default", "name", "id"],
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.text.Lower("name"), name="collection_name_unique"
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("is_default", True)),
                        fields=("is_default",),
                        name="collection_one_default",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="apikey",
            name="collections",
            field=models.ManyToManyField(
                blank=True, related_name="api_keys", to="accounts.collection"
            ),
        ),
        migrations.CreateModel(
            name="CollectionMember",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("can_upload", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "collection",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="members",
                        to="accounts.collection",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="collection_memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["collection_id", "user__email"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("collection", "user"), name="collection_member_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(create_default_collection, migrations.RunPython.noop),
    ]
