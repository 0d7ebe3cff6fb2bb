"""Backup and restore times and sizes for one tenant of 10,000 chunks.

    .venv/bin/python bench/backup.py                 # 10,000 chunks, 100 stored files
    .venv/bin/python bench/backup.py --chunks 2000   # a quick run

Builds a scratch tenant as bench/query.py does (Cranfield sentences, hashing embedder,
bulk-inserted, index compacted) and gives its first documents stored files, then times
`manage.py backup --tenant` to a local folder, `restore --tenant` over the live tenant, and
`restore --tenant --as` beside it (each restore rebuilds the index), and writes the table
into docs/benchmarks.md. The scratch tenants and backups are removed afterwards. Uses
DATABASE_URL / REDIS_URL when set, else the embedded servers.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from query import fill  # noqa: E402 - bench/query.py's scratch corpus
from report import markdown_table, write_section  # noqa: E402

from documents.models import Chunk, Document  # noqa: E402
from tenants.db import use_public_schema  # noqa: E402
from tenants.models import Tenant  # noqa: E402
from tenants.services import delete_tenant, provision_tenant  # noqa: E402


def timed(*args: str) -> tuple[float, str]:
    out = io.StringIO()
    started = time.perf_counter()
    call_command(*args, stdout=out, stderr=io.StringIO())
    use_public_schema()
    return time.perf_counter() - started, out.getvalue().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=100)
    args = parser.parse_args()
    schema = f"benchbk_{secrets.token_hex(4)}"
    provisioned = provision_tenant(
        schema_name=schema,
        name="Backup bench",
        domain=f"{schema.replace('_', '-')}.localhost",
        plan="enterprise",
        admin_email=f"bench@{schema.replace('_', '-')}.invalid",
        admin_password=secrets.token_urlsafe(20),
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-backups-"))
    rows: list[list[object]] = []
    try:
        with tenant_context(provisioned.tenant):
            fill(args.chunks)
            for document in Document.objects.order_by("pk")[: args.files]:
                text = "\n\n".join(document.chunks.values_list("text", flat=True))
                document.file.save(document.filename, ContentFile(text.encode()), save=True)
            chunks = Chunk.objects.count()
        use_public_schema()
        seconds, line = timed("backup", "--to", str(folder), "--tenant", schema)
        where = line.rsplit(" to ", 1)[-1]
        size = sum(path.stat().st_size for path in Path(where).iterdir())
        parts = {path.name: path.stat().st_size for path in Path(where).iterdir()}
        rows.append(["backup --tenant", f"{seconds:.1f}", f"{size / 1e6:.1f}"])
        seconds, _ = timed("restore", "--from", where, "--tenant", schema, "--noinput")
        rows.append(["restore --tenant (replacing it, index rebuilt)", f"{seconds:.1f}", ""])
        copy = f"{schema}_copy"
        seconds, _ = timed(
            "restore", "--from", where, "--tenant", schema, "--as", copy, "--noinput"
        )
        rows.append(["restore --tenant --as (a new tenant beside it)", f"{seconds:.1f}", ""])
    finally:
        use_public_schema()
        for tenant in Tenant.objects.filter(schema_name__startswith=schema):
            delete_tenant(tenant=tenant)
        shutil.rmtree(folder, ignore_errors=True)
    table = markdown_table(["step", "seconds", "size MB"], rows)
    detail = ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in sorted(parts.items()))
    notes = (
        f"One tenant of {chunks:,} chunks (Cranfield sentences, hashing embedder) with "
        f"{args.files} stored files, backed up to a local folder and restored into the running "
        f"platform (PostgreSQL on the same machine). The backup's files: {detail}."
    )
    print(f"\n{table}\n\n{notes}")
    write_section("backup", "Backup and restore", table, notes=notes)


if __name__ == "__main__":
    main()
