"""Backups to an S3-compatible store: moto's standalone server speaks the S3 API locally."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import boto3  # type: ignore[import-untyped]
import pytest
from django.core.management import call_command
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.models import Document
from operators.backups import destinations
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.conftest import TenantHandle, _provision
from tests.operators import backup_helpers as helpers

BUCKET = "platform-backups"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local S3 endpoint with one bucket; credentials as the AWS environment gives them."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        with override_settings(BACKUP_S3_ENDPOINT_URL=endpoint, BACKUP_S3_SSE="AES256"):
            yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def tenant(committed_db: None) -> Iterator[TenantHandle]:
    handle = _provision(f"bk_s3_{uuid.uuid4().hex[:6]}")
    helpers.populate(handle.schema)
    yield handle
    use_public_schema()
    delete_tenant(tenant=Tenant.objects.get(pk=handle.tenant.pk))


def _call(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    use_public_schema()
    return out.getvalue()


def test_a_tenant_backed_up_to_s3_is_restored_from_there_and_old_ones_pruned(
    s3: str, tenant: TenantHandle
) -> None:
    before = helpers.observed(tenant.schema)
    first = _call("backup", "--to", f"s3://{BUCKET}/nightly", "--tenant", tenant.schema)
    time.sleep(1.1)  # backup names carry the second they were made
    out = _call(
        "backup", "--to", f"s3://{BUCKET}/nightly", "--tenant", tenant.schema, "--keep", "1"
    )
    where = out.strip().rsplit(" to ", 1)[-1]
    assert where.startswith(f"s3://{BUCKET}/nightly/tenant-{tenant.schema}-")
    assert first.strip().rsplit(" to ", 1)[-1] != where
    bucket = destinations.parse(f"s3://{BUCKET}/nightly")
    assert bucket.names() == [where.rsplit("/", 1)[-1]]  # the older one was pruned
    client = boto3.client("s3", endpoint_url=s3)
    head = client.head_object(Bucket=BUCKET, Key=where.split(f"{BUCKET}/", 1)[1] + "/manifest.json")
    assert head["ServerSideEncryption"] == "AES256"

    with schema_context(tenant.schema):
        Document.objects.all().delete()
    use_public_schema()
    _call("restore", "--from", where, "--tenant", tenant.schema, "--noinput")
    assert helpers.observed(tenant.schema) == before


def test_an_unreachable_store_is_a_sentence(s3: str, tenant: TenantHandle) -> None:
    from django.core.management import CommandError

    with (
        override_settings(BACKUP_S3_ENDPOINT_URL="http://127.0.0.1:9"),
        pytest.raises(CommandError, match="failed"),
    ):
        _call("backup", "--to", f"s3://{BUCKET}/x", "--tenant", tenant.schema)
