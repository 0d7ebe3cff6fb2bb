"""Lower-case stored host names: routing now looks up the lower-cased host only."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def lower_case_domains(apps: Any, schema_editor: Any) -> None:
    domain_model = apps.get_model("tenants", "Domain")
    taken = set(domain_model.objects.values_list("domain", flat=True))
    for pk, domain in domain_model.objects.values_list("pk", "domain"):
        normal = domain.strip().rstrip(".").lower()
        # When a twin holds the lower-case form (the row browsers reached), leave this one be.
        if normal == domain or normal in taken:
            continue
        taken.add(normal)
        domain_model.objects.filter(pk=pk).update(domain=normal)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0005_tenant_time_zone"),
    ]

    operations = [
        migrations.RunPython(lower_case_domains, migrations.RunPython.noop),
    ]
