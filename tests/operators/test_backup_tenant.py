"""One tenant backed up and restored into the running platform; refusals; S3."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context

from documents import services as documents
from documents.models import Document
from operators.backups import destinations, manifest
from operators.models import BackupRecord
from search import retrieval
from tenants.db import use_public_schema
from tenants.models import Tenant
from tenants.services import delete_tenant
from tests.conftest import TenantHandle, _provision
from tests.factories import DocumentFactory
from tests.operators import backup_helpers as helpers


@pytest.fixture
def pair(committed_db: None) -> Iterator[tuple[TenantHandle, TenantHandle, str]]:
    """Two committed tenants with data (the dump reads committed rows); removed afterwards."""
    suffix = uuid.uuid4().hex[:6]
    handles = (_provision(f"bk_a_{suffix}"), _provision(f"bk_b_{suffix}"))
    key = helpers.populate(handles[0].schema)
    helpers.populate(handles[1].schema)
    yield handles[0], handles[1], key
    use_public_schema()
    for tenant in Tenant.objects.filter(schema_name__contains=suffix):
        delete_tenant(tenant=tenant)


def _backup(tmp_path: Path, schema: str) -> str:
    out = _call("backup", "--to", str(tmp_path / "backups"), "--tenant", schema)
    return out.strip().rsplit(" to ", 1)[-1]


def _call(*args: str) -> str:
    from io import StringIO

    stdout, stderr = StringIO(), StringIO()
    call_command(*args, stdout=stdout, stderr=stderr)
    use_public_schema()
    return stdout.getvalue()


def test_one_tenant_comes_back_and_the_other_is_untouched_and_answering(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, beta, key = pair
    before_a, before_b = helpers.observed(alpha.schema), helpers.observed(beta.schema)
    where = _backup(tmp_path, alpha.schema)
    row = BackupRecord.objects.get(location=where)
    assert (row.outcome, row.kind) == ("succeeded", "tenant")
    assert row.size_bytes

    with schema_context(alpha.schema):
        for document in Document.objects.all():
            documents.delete_document(document=document)
    use_public_schema()
    assert helpers.observed(alpha.schema)["counts"]["documents_document"] == 0

    failures: list[BaseException] = []
    answers: list[int] = []
    stop = threading.Event()

    def search_beta() -> None:  # beta keeps answering while alpha is restored
        try:
            while not stop.is_set():
                with schema_context(beta.schema):
                    answers.append(
                        len(retrieval.retrieve("vacation days", mode="hybrid", top_k=3).hits)
                    )
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=search_beta)
    thread.start()
    try:
        out = _call("restore", "--from", where, "--tenant", alpha.schema, "--noinput")
    finally:
        stop.set()
        thread.join()
    assert "Restored" in out
    assert not failures
    assert answers
    assert all(n > 0 for n in answers)
    assert helpers.observed(alpha.schema) == before_a
    assert helpers.observed(beta.schema) == before_b
    assert helpers.can_sign_in(alpha.schema, key) == {"token": 200, "search": 200}


def test_a_tenant_restored_as_a_new_one_leaves_the_original_alone(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, _ = pair
    where = _backup(tmp_path, alpha.schema)
    copy = f"{alpha.schema[:5]}_{alpha.schema[-6:]}_copy"
    said = _call("restore", "--from", where, "--tenant", alpha.schema, "--as", copy, "--noinput")
    assert f"it answers at {copy.replace('_', '-')}.localhost." in said  # where to look
    restored = Tenant.objects.get(schema_name=copy)
    assert restored.name.endswith("(restored)")
    assert restored.domains.get().domain == f"{copy.replace('_', '-')}.localhost"  # a valid host
    original, duplicate = helpers.observed(alpha.schema), helpers.observed(copy)
    assert duplicate["counts"] == original["counts"]
    assert duplicate["files"] == original["files"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: _flip(p / "database.dump"), "does not match its checksum"),
        (lambda p: _flip(p / "files.tar"), "does not match its checksum"),
        (lambda p: _truncate(p / "manifest.json"), "cannot be read"),
        (lambda p: _future(p / "manifest.json"), "newer code"),
        (
            lambda p: _future_platform(p / "manifest.json"),
            r"made by newer code .*billing\.0001_initial.*Nothing was changed",
        ),
        (lambda p: _as_platform(p / "manifest.json"), "not empty"),
    ],
    ids=[
        "corrupted dump",
        "corrupted files",
        "truncated manifest",
        "newer code",
        "newer code, whole platform",
        "non-empty",
    ],
)
def test_a_damaged_or_unsuitable_backup_is_refused_and_nothing_changes(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path, damage: Any, message: str
) -> None:
    alpha, beta, _ = pair
    where = _backup(tmp_path, alpha.schema)
    with schema_context(alpha.schema):
        Document.objects.filter(filename="report.txt").delete()
    use_public_schema()
    before = helpers.observed(alpha.schema), helpers.observed(beta.schema)
    damage(Path(where))
    tenant = (
        [] if "platform" in Path(where, "manifest.json").read_text() else ["--tenant", alpha.schema]
    )
    with pytest.raises(CommandError, match=message):
        _call("restore", "--from", where, *tenant, "--noinput")
    assert (helpers.observed(alpha.schema), helpers.observed(beta.schema)) == before


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def _rewrite(path: Path, change: Any) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def _future(path: Path) -> None:
    _rewrite(path, lambda r: r["migrations"].setdefault("documents", []).append("9999_future"))


def _as_platform(path: Path) -> None:
    _rewrite(path, lambda r: r.update(kind="platform", tenant=None))


def _future_platform(path: Path) -> None:
    """A platform backup whose code had an app this code lacks: refused before the
    non-empty check, which would refuse it here too."""
    _as_platform(path)
    _rewrite(path, lambda r: r["migrations"].update(billing=["0001_initial"]))


def test_a_path_that_is_not_a_backup_is_refused_with_a_sentence(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is not a backup"):
        _call("restore", "--from", str(tmp_path), "--noinput")
    with pytest.raises(destinations.BackupError, match="neither a directory"):
        destinations.parse("ftp://host/backups")


def test_the_manifest_lists_every_stored_file_with_its_checksum(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, _ = pair
    where = Path(_backup(tmp_path, alpha.schema))
    record = manifest.read(where)
    assert (record["kind"], record["tenant"]) == ("tenant", alpha.schema)
    assert sorted(Path(f["path"]).name for f in record["files"]) == sorted(helpers.TEXTS)
    assert all(len(f["sha256"]) == 64 for f in record["files"])
    assert record["row_counts"][alpha.schema]["documents_document"] == 3
    assert record["tenants"][0]["domains"][0]["domain"] == alpha.domain
    assert set(record["artifacts"]) == {"database.dump", "files.tar"}


def test_a_backup_taken_while_documents_arrive_restores_to_a_consistent_state(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, _ = pair
    stop = threading.Event()
    errors: list[BaseException] = []
    made: list[int] = []

    def upload_and_search() -> None:
        try:
            while not stop.is_set():
                with schema_context(alpha.schema), transaction.atomic():
                    n = len(made)
                    document = DocumentFactory(
                        filename=f"live-{n}.txt", chunks=[f"live report {n} on wing flutter"]
                    )
                    document.file.save(f"live-{n}.txt", ContentFile(f"report {n}".encode()))
                made.append(n)
                with schema_context(alpha.schema):
                    retrieval.retrieve("wing flutter", mode="hybrid", top_k=3)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=upload_and_search)
    thread.start()
    try:
        time.sleep(0.5)
        where = _backup(tmp_path, alpha.schema)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(made) > 2  # documents arrived before, during and after the backup
    record = manifest.read(Path(where))
    copy = f"{alpha.schema[:5]}_{alpha.schema[-6:]}_load"
    _call("restore", "--from", where, "--tenant", alpha.schema, "--as", copy, "--noinput")
    restored = helpers.observed(copy)
    assert restored["counts"] == record["row_counts"][alpha.schema]
    with schema_context(copy):
        for document in Document.objects.all():
            assert document.chunk_count == document.chunks.count()
            assert document.file.storage.exists(str(document.file.name)), document.filename


def test_a_deleted_tenant_comes_back_with_its_rows_and_domain(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, key = pair
    before = helpers.observed(alpha.schema)
    where = _backup(tmp_path, alpha.schema)
    name, plan = alpha.tenant.name, alpha.tenant.plan
    delete_tenant(tenant=Tenant.objects.get(schema_name=alpha.schema))
    _call("restore", "--from", where, "--tenant", alpha.schema, "--noinput")
    tenant = Tenant.objects.get(schema_name=alpha.schema)
    assert (tenant.name, tenant.plan) == (name, plan)
    assert [d.domain for d in tenant.domains.all()] == [alpha.domain]
    assert helpers.observed(alpha.schema) == before
    assert helpers.can_sign_in(alpha.schema, key) == {"token": 200, "search": 200}


@pytest.mark.parametrize(
    ("as_schema", "domain", "message"),
    [
        ("a;drop", None, "is not valid"),
        ("pg_copy", None, "is reserved"),
        ("Demo-Copy", None, "is not valid"),
        ("fine_copy", "bad domain!", "domain"),
    ],
)
def test_a_bad_new_name_or_domain_is_refused_before_anything_is_made(
    pair: tuple[TenantHandle, TenantHandle, str],
    tmp_path: Path,
    as_schema: str,
    domain: str | None,
    message: str,
) -> None:
    alpha, _, _ = pair
    where = _backup(tmp_path, alpha.schema)
    tenants = Tenant.objects.count()
    extra = ["--domain", domain] if domain else []
    with pytest.raises(CommandError, match=message):
        _call("restore", "--from", where, "--tenant", alpha.schema, "--as", as_schema, *extra,
              "--noinput")  # fmt: skip
    assert Tenant.objects.count() == tenants
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [as_schema])
        assert cursor.fetchone()[0] == 0


def test_misuses_of_backup_are_sentences_and_nothing_is_written(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, _ = pair
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (["--to", str(a_file)], "is a file, not a folder"),
        (["--to", ""], "Say where the backups go"),
        (["--to", str(tmp_path / "b"), "--keep", "0"], "at least 1"),
        (["--to", str(tmp_path / "b"), "--keep", "-1"], "at least 1"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message):
            _call("backup", *args, "--tenant", alpha.schema)
    assert not (tmp_path / "b").exists()
    with pytest.raises(CommandError, match="There is nothing at"):
        _call("restore", "--from", str(tmp_path / "nowhere"), "--noinput")


def test_restore_without_noinput_and_without_a_terminal_says_what_to_add(
    pair: tuple[TenantHandle, TenantHandle, str], tmp_path: Path
) -> None:
    alpha, _, _ = pair
    where = _backup(tmp_path, alpha.schema)
    with pytest.raises(CommandError, match="add --noinput"):
        _call("restore", "--from", where, "--tenant", alpha.schema)
