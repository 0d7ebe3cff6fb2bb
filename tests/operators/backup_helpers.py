"""Shared by the backup tests: a tenant's data, and what a user would see of it.

`populate` and `observed` also run inside `manage.py shell` subprocesses against a scratch
database (the drill), so they import only what a running platform has.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import ApiKey, User
from accounts.services import create_api_key
from documents.models import Document
from operators.backups.manifest import COUNTED
from search import index, retrieval
from tenants.models import Tenant
from tests.factories import DocumentFactory, QueryFactory, UserFactory

PASSWORD = "correct horse battery staple 42"
QUERIES = ["boundary layer on the wing", "heat transfer", "vacation days", "quarterly revenue"]
TEXTS = {
    "wing.txt": ["The boundary layer on a swept wing thickens toward the tip.",
                 "Heat transfer at the leading edge rises with Mach number."],
    "handbook.txt": ["Employees accrue twenty vacation days a year.",
                     "Remote work needs a manager's approval."],
    "report.txt": ["Quarterly revenue grew eight percent on new contracts."],
}  # fmt: skip


def _member(schema: str) -> str:
    return f"member@{schema.replace('_', '-')}.test"


def populate(schema: str) -> str:
    """Documents with stored files, members, an API key and query history; the key's
    plaintext."""
    with schema_context(schema):
        owner = User.objects.order_by("pk").first()
        assert owner is not None
        for name, chunks in TEXTS.items():
            document = DocumentFactory(filename=name, chunks=chunks)
            document.file.save(name, ContentFile("\n\n".join(chunks).encode()), save=True)
        UserFactory(email=_member(schema), password=PASSWORD)
        _, raw_key = create_api_key(name="ci", scopes=["read"], created_by=owner)
        for text in QUERIES:
            QueryFactory(text=text)
        index.compact()
    return raw_key


def observed(schema: str) -> dict[str, Any]:
    """Row counts, search results, stored files: what the restore must give back."""
    with schema_context(schema):
        counts = {}
        with connection.cursor() as cursor:
            for table in COUNTED:
                cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608
                counts[table] = cursor.fetchone()[0]
        results = {
            text: [
                chunk_id for chunk_id, _ in retrieval.retrieve(text, mode="hybrid", top_k=5).hits
            ]
            for text in QUERIES
        }
        files = sorted(
            (document.filename, document.file.read().decode())
            for document in Document.objects.all()
        )
    return {"counts": counts, "results": results, "files": files}


def can_sign_in(schema: str, raw_key: str) -> dict[str, int]:
    """Status codes of a password sign-in and an API-key search on the tenant's host."""
    tenant = Tenant.objects.get(schema_name=schema)
    host = tenant.domains.first().domain
    client = Client(HTTP_HOST=host)
    token = client.post(
        "/api/v1/auth/token/",
        json.dumps({"email": _member(schema), "password": PASSWORD}),
        content_type="application/json",
    )
    search = client.post(
        "/api/v1/search/",
        json.dumps({"query": "vacation days"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Api-Key {raw_key}",
    )
    return {"token": token.status_code, "search": search.status_code}


__all__ = ["ApiKey", "can_sign_in", "observed", "populate"]
