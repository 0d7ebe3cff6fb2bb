"""A full disk for uploaded files: the upload is refused with 507 and a sentence, nothing of it
is kept, and uploads work again as soon as there is room.

The files live on a small tmpfs mounted for the test, a real full filesystem (ENOSPC), so it
needs the right to mount (root, as in CI); elsewhere it is skipped unless REQUIRE_MOUNT is set.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django_tenants.utils import schema_context

from documents.models import Document
from tests.mounts import mount_tmpfs, unmount

pytestmark = pytest.mark.django_db

VOLUME_KB = 512


@pytest.fixture
def small_volume() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="di-full-"))
    mount_tmpfs(folder, VOLUME_KB)
    try:
        yield folder
    finally:
        unmount(folder)


@contextmanager
def _media_root(folder: Path) -> Iterator[None]:
    """MEDIA_ROOT on `folder`. django-tenants' storage caches the folder it derives from
    MEDIA_ROOT and does not drop it when the setting changes, so it is dropped here."""
    field_storage = Document._meta.get_field("file").storage
    assert field_storage.path("x")  # sets up the lazy default storage
    cached = vars(getattr(field_storage, "_wrapped", field_storage))  # default_storage is lazy
    cached.pop("relative_media_root", None)
    try:
        with override_settings(MEDIA_ROOT=str(folder)):
            yield
    finally:
        cached.pop("relative_media_root", None)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _upload(client, name: str, data: bytes):
    return client.post("/api/v1/documents/", {"file": SimpleUploadedFile(name, data)})


def test_a_full_disk_refuses_the_upload_whole_and_keeps_nothing(make_tenant, small_volume):
    tenant = make_tenant("diskfull")
    filler = small_volume / "filler.bin"
    filler.write_bytes(b"\0" * (VOLUME_KB - 64) * 1024)  # 64 KB left
    client = tenant.logged_in_client()
    with _media_root(small_volume):
        response = _upload(client, "report.txt", b"Quarterly revenue grew. " * 8_000)  # 190 KB

        assert response.status_code == 507
        error = response.json()["error"]
        assert error["code"] == "storage_full"
        assert "no room left to store uploaded files" in error["message"]
        with schema_context(tenant.schema):
            assert not Document.objects.exists()
        assert _files(small_volume) == [filler]  # no half-written file

        filler.unlink()  # the operator makes room
        again = _upload(client, "report.txt", b"Quarterly revenue grew. " * 8_000)
        assert again.status_code == 202
        with schema_context(tenant.schema):
            assert Document.objects.count() == 1
