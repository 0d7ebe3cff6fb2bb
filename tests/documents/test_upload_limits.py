"""Upload limits applied while the body streams in: per file, per request, number of files."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from io import RawIOBase
from pathlib import Path
from typing import IO, Any, cast

import pytest
from django.core.files import temp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import schema_context

from documents.models import Document
from documents.upload_handlers import MAX_FILES_PER_REQUEST, LimitedUploadHandler, UploadTooLarge
from tests.accounts.helpers import bearer, key_header, owner_of
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/documents/"
LIMIT = 64 * 1024


@dataclass
class TempFiles:
    """The temporary files uploads were spooled to, and the bytes written to each."""

    directory: Path
    written: dict[str, int] = field(default_factory=dict)

    def left_on_disk(self) -> list[str]:
        return sorted(p.name for p in self.directory.iterdir())


@pytest.fixture
def temp_files(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempFiles:
    """Counts every byte written to upload temp files; files go to disk as >5 MB ones do."""
    settings.DOCUMENT_MAX_BYTES = LIMIT
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    record = TempFiles(tmp_path)
    real = temp.NamedTemporaryFile

    def counted(*args: Any, **kwargs: Any) -> Any:
        handle: Any = real(*args, **kwargs)
        name, write = handle.name, handle.write
        record.written[name] = 0

        def counting_write(data: bytes) -> int:
            record.written[name] += len(data)
            return int(write(data))

        handle.write = counting_write
        return handle

    monkeypatch.setattr(temp, "NamedTemporaryFile", counted)
    return record


@pytest.fixture
def tenant(make_tenant: Any) -> TenantHandle:
    return make_tenant("upload_limits")


def _csrf_session(handle: TenantHandle) -> tuple[Client, dict[str, Any]]:
    """A signed-in dashboard client whose CSRF token is checked, as in a browser."""
    client = handle.logged_in_client()
    client.handler.enforce_csrf_checks = True
    secret = secrets.token_hex(16)  # 32 characters: a CSRF secret, sent back unmasked
    client.cookies["csrftoken"] = secret
    return client, {"HTTP_X_CSRFTOKEN": secret}


CLIENTS: dict[str, Callable[[TenantHandle], tuple[Client, dict[str, Any]]]] = {
    "session": _csrf_session,
    "bearer": lambda handle: (handle.client(), bearer(handle, owner_of(handle))),
    "api key": lambda handle: (
        handle.client(),
        key_header(ApiKeyFactory(tenant=handle, scopes=["read", "write"]).raw),
    ),
}


def _over_by(name: str, size: int) -> str:
    return (
        f"The file '{name}' is {size:,} bytes, {size - LIMIT:,} over the limit of 64.0 KB "
        f"({LIMIT:,} bytes). Split it or compress its images."
    )


def _documents(handle: TenantHandle) -> list[str]:
    with schema_context(handle.schema):
        return list(Document.objects.values_list("filename", flat=True))


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_a_file_over_the_limit_is_never_stored_past_it(
    tenant: TenantHandle, temp_files: TempFiles, kind: str
) -> None:
    client, headers = CLIENTS[kind](tenant)
    size = 3 * LIMIT + 5
    response = client.post(
        URL, {"file": SimpleUploadedFile("big.txt", (b"word " * size)[:size])}, **headers
    )
    assert response.status_code == 413, response.content
    assert response.json()["error"]["code"] == "file_too_large"
    assert response.json()["error"]["message"] == _over_by("big.txt", size)
    assert temp_files.written, "the upload was expected to be spooled to a temporary file"
    assert max(temp_files.written.values()) <= LIMIT, temp_files.written
    assert temp_files.left_on_disk() == []
    assert _documents(tenant) == []


def test_the_other_files_of_the_request_are_still_accepted(
    tenant: TenantHandle, temp_files: TempFiles
) -> None:
    small = b"notes about supersonic wings " * 100
    big = b"x" * (LIMIT + 1)
    response = tenant.logged_in_client().post(
        URL,
        {
            "file": [
                SimpleUploadedFile("big.txt", big),
                SimpleUploadedFile("small.txt", small),
                SimpleUploadedFile("exact.txt", b"y" * LIMIT),
            ]
        },
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert [d["filename"] for d in body["documents"]] == ["small.txt", "exact.txt"]
    assert [d["size"] for d in body["documents"]] == [len(small), LIMIT]
    assert body["errors"] == [
        {"code": "file_too_large", "message": _over_by("big.txt", LIMIT + 1), "filename": "big.txt"}
    ]
    assert max(temp_files.written.values()) <= LIMIT, temp_files.written
    assert temp_files.left_on_disk() == []
    assert sorted(_documents(tenant)) == ["exact.txt", "small.txt"]


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_a_request_over_the_total_cap_is_refused_before_anything_is_stored(
    tenant: TenantHandle, temp_files: TempFiles, kind: str
) -> None:
    client, headers = CLIENTS[kind](tenant)
    # Every file is over the per-file limit too; the request is refused as a whole, unread.
    files = [SimpleUploadedFile(f"f{i}.txt", b"z" * (LIMIT * 8)) for i in range(6)]
    response = client.post(URL, {"file": files}, **headers)
    assert temp_files.written == {}
    assert response.status_code == 413, response.content
    error = response.json()["error"]
    assert error["code"] == "file_too_large"
    assert error["message"] == (
        "The upload is larger than this server accepts in one request (2.2 MB). A file may "
        f"be at most 64.0 KB; send more files in several requests of at most "
        f"{MAX_FILES_PER_REQUEST} files."
    )
    assert temp_files.left_on_disk() == []
    assert _documents(tenant) == []


@pytest.mark.parametrize("kind", list(CLIENTS))
def test_more_files_than_django_reads_is_a_json_400_naming_the_limit(
    tenant: TenantHandle, settings: Any, kind: str
) -> None:
    client, headers = CLIENTS[kind](tenant)
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
    files = [SimpleUploadedFile(f"f{i}.txt", f"file number {i}".encode()) for i in range(101)]
    response = client.post(URL, {"file": files}, **headers)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "too_many_files",
            "message": f"The request carries more than {limit} files, more than this server "
            "reads in one request; send the files in several smaller requests.",
        }
    }
    assert _documents(tenant) == []


def test_the_session_client_still_uploads_with_its_csrf_token(
    tenant: TenantHandle, temp_files: TempFiles
) -> None:
    client, headers = _csrf_session(tenant)
    refused = client.post(URL, {"file": SimpleUploadedFile("a.txt", b"hello wings")})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    response = client.post(URL, {"file": SimpleUploadedFile("a.txt", b"hello wings")}, **headers)
    assert response.status_code == 202, response.content
    assert _documents(tenant) == ["a.txt"]


class _Unseekable(RawIOBase):
    """A request body as WSGI gives it: read only, its size known from Content-Length."""

    def seekable(self) -> bool:
        return False


def test_a_body_longer_than_it_said_is_cut_off_and_its_file_deleted(temp_files: TempFiles) -> None:
    # Content-Length understated: the handler's own count of the bytes still stops it.
    handler = LimitedUploadHandler(None, file_limit=LIMIT, request_limit=LIMIT // 2 + 1)
    handler.handle_raw_input(cast(IO[bytes], _Unseekable()), {}, 4096, "boundary")
    handler.new_file("file", "a.txt", "text/plain", None)
    handler.receive_data_chunk(b"a" * (LIMIT // 2), 0)
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"a" * (LIMIT // 2), LIMIT // 2)
    assert list(temp_files.written.values()) == [LIMIT // 2]
    assert temp_files.left_on_disk() == []
