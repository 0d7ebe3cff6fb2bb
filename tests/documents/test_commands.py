"""The operator commands ingest, rebuild_index and reindex: what they do, the embedder a
tenant's index was built with, --tenant/--all and option spelling, and how ingest reports
each file (failures by their real path, duplicates, links, a missing worker)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from documents.embeddings import clear_embedder_cache, register_backend, registry
from documents.embeddings.hashing import HashingEmbedder
from documents.management.commands import ingest
from documents.models import Chunk, ChunkNeighbours, Document, DocumentStatus, IndexState
from search import bm25_store, chunk_links
from tests.conftest import ROOT, libpq_params, worker_environment

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("cli_docs")


def test_ingest_sync_processes_a_folder_and_lists_failures(tenant, tmp_path, capsys):
    (tmp_path / "good.md").write_text("# Wings\n\nLift and drag on swept wings.\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "also-good.txt").write_text("Shock waves in nozzles.")
    (tmp_path / "fake.pdf").write_bytes(b"MZ\x90\x00 this is an executable")
    with pytest.raises(CommandError, match="1 file"):
        call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path))
    captured = capsys.readouterr()
    assert "2 of 3 files ingested into cli_docs" in captured.out
    assert "FAILED" in captured.err
    assert "fake.pdf" in captured.err
    with schema_context(tenant.schema):
        assert set(Document.objects.values_list("filename", "status")) == {
            ("good.md", DocumentStatus.READY),
            ("also-good.txt", DocumentStatus.READY),
        }


def test_ingest_refuses_unknown_tenant_and_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no tenant"):
        call_command("ingest", "--tenant", "nobody", str(tmp_path))


def test_rebuild_index_writes_a_new_version(tenant, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Buckling of thin shells.")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path))
    call_command("rebuild_index", "--tenant", tenant.schema, verbosity=0)
    assert "index v1 with 1 vectors" in capsys.readouterr().out
    with schema_context(tenant.schema):
        assert IndexState.objects.get().snapshot_count == Chunk.objects.count() == 1


def test_rebuild_index_links_neighbours_and_shows_both_stages(tenant, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Buckling of thin shells.")
    (tmp_path / "b.txt").write_text("Thin cylindrical shells buckle under axial load.")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path))
    call_command("rebuild_index", "--tenant", tenant.schema)
    err = capsys.readouterr().err
    assert f"{tenant.schema}: reading" in err
    assert f"{tenant.schema}: neighbours" in err
    assert f"{tenant.schema}: building and storing the BM25 matrix" in err
    with schema_context(tenant.schema):
        row = IndexState.objects.get()
        assert bm25_store.exists(tenant.schema, str(row.generation), row.change_seq)
        chunks = set(Chunk.objects.values_list("id", flat=True))
        lists = dict(ChunkNeighbours.objects.values_list("chunk_id", "links"))
        assert set(lists) == chunks
        for chunk_id, blob in lists.items():
            assert chunk_links.unpack(blob)["id"].tolist() == list(chunks - {chunk_id})


def test_reindex_queues_every_document(tenant, tmp_path, capsys):
    (tmp_path / "a.txt").write_text("Flutter of panels.")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path))
    call_command("reindex", "--tenant", tenant.schema)
    assert "queued 1 documents" in capsys.readouterr().out
    with schema_context(tenant.schema):
        assert Document.objects.get().status == DocumentStatus.PENDING


# --- rebuild_index and the embedder of the stored chunks -----------------------------------


@pytest.fixture
def other_embedder(settings) -> Iterator[str]:
    """A second backend ('other', named hashing-v1-64) to configure instead of hashing."""
    register_backend("other", lambda **_: HashingEmbedder(dimension=64))
    clear_embedder_cache()
    yield "other"
    registry._FACTORIES.pop("other", None)
    clear_embedder_cache()


def _ingest_and_build(schema: str, folder) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "a.txt").write_text(f"Buckling of thin shells in {schema}.")
    call_command("ingest", "--tenant", schema, "--sync", str(folder), verbosity=0)
    call_command("rebuild_index", "--tenant", schema, verbosity=0)


def test_rebuild_index_refuses_a_tenant_embedded_by_another_embedder(
    make_tenant, other_embedder, settings, tmp_path, capsys
):
    beta = make_tenant("cli_beta")
    _ingest_and_build(beta.schema, tmp_path / "beta")
    with schema_context(beta.schema):
        before = IndexState.objects.get()
    capsys.readouterr()
    settings.EMBEDDING_BACKEND = other_embedder
    with pytest.raises(CommandError) as raised:
        call_command("rebuild_index", "--tenant", beta.schema, verbosity=0)
    message = str(raised.value)
    assert "'hashing-v1-384'" in message
    assert "'hashing-v1-64'" in message
    assert "EMBEDDING_BACKEND=hashing" in message
    assert f"reindex --tenant {beta.schema}" in message
    assert "vectors" not in capsys.readouterr().out
    with schema_context(beta.schema):
        after = IndexState.objects.get()
        assert (after.version, after.embedder, after.snapshot_count) == (
            before.version,
            before.embedder,
            before.snapshot_count,
        )
        assert Chunk.objects.filter(in_snapshot=True).count() == 1


def test_rebuild_index_all_skips_mismatched_tenants_and_fails_at_the_end(
    make_tenant, other_embedder, settings, tmp_path, capsys
):
    beta = make_tenant("cli_beta")
    _ingest_and_build(beta.schema, tmp_path / "beta")
    settings.EMBEDDING_BACKEND = other_embedder
    gamma = make_tenant("cli_gamma")
    _ingest_and_build(gamma.schema, tmp_path / "gamma")  # embedded with 'other'
    capsys.readouterr()
    with pytest.raises(CommandError, match="1 tenant") as raised:
        call_command("rebuild_index", "--all", verbosity=0)
    assert raised.value.returncode == 1
    captured = capsys.readouterr()
    assert f"{gamma.schema}: index v2 with 1 vectors" in captured.out
    assert beta.schema not in captured.out
    assert f"Skipped {beta.schema}: its stored chunks were embedded with" in captured.err
    with schema_context(beta.schema):
        assert IndexState.objects.get().embedder == "hashing-v1-384"


# --- --tenant / --all and option spelling ------------------------------------------------


@pytest.mark.parametrize("command", ["rebuild_index", "reindex"])
def test_tenant_and_all_together_is_an_error(make_tenant, command):
    tenant = make_tenant("cli_both")
    make_tenant("cli_other")
    with pytest.raises(CommandError, match=r"^Give either --tenant or --all, not both\.$"):
        call_command(command, "--tenant", tenant.schema, "--all", verbosity=0)
    with schema_context(tenant.schema):
        assert IndexState.objects.filter(version__gt=0).count() == 0


def test_ingest_without_tenant_does_not_offer_all(tmp_path):
    (tmp_path / "a.txt").write_text("Panel flutter.")
    with pytest.raises(CommandError) as raised:
        call_command("ingest", str(tmp_path))
    assert str(raised.value) == "Say which tenant: --tenant SCHEMA."


def test_ingest_all_is_not_an_abbreviation_of_allow_duplicate(make_tenant, tmp_path):
    tenant = make_tenant("cli_abbrev")
    (tmp_path / "a.txt").write_text("Panel flutter.")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path), verbosity=0)
    with pytest.raises(CommandError, match="unrecognized arguments: --all"):
        call_command(
            "ingest", "--tenant", tenant.schema, "--sync", "--all", str(tmp_path), verbosity=0
        )
    with schema_context(tenant.schema):
        assert Document.objects.count() == 1


@pytest.mark.parametrize(
    ("app", "command"),
    [("documents", "ingest"), ("search", "rebuild_index"), ("documents", "reindex")],
)
def test_documents_commands_take_no_abbreviated_options(app, command):
    module = importlib.import_module(f"{app}.management.commands.{command}")
    assert module.Command().create_parser("manage.py", command).allow_abbrev is False


# --- ingest reports -------------------------------------------------------------------------


def test_ingest_reports_failures_by_their_real_path(make_tenant, tmp_path, capsys):
    tenant = make_tenant("cli_paths")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "notes.txt").write_bytes(b"")  # empty: refused
    (tmp_path / "b" / "notes.txt").write_text("Shock waves in nozzles.")
    with pytest.raises(CommandError, match="1 file"):
        call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path), verbosity=0)
    failed = [line for line in capsys.readouterr().err.splitlines() if "FAILED" in line]
    assert failed == [
        f"FAILED {tmp_path / 'a' / 'notes.txt'}: The file 'notes.txt' is empty (0 bytes); "
        "check that it was saved or finished downloading, then upload it again."
    ]


def test_ingest_without_a_worker_hints_once_and_keeps_documents_queued(
    make_tenant, tmp_path, capsys, monkeypatch, settings
):
    monkeypatch.setattr(ingest, "NO_WORKER_HINT_AFTER", 0.2)
    settings.QUEUE_PREFIX = "noworker-"  # queues no worker of this run consumes
    tenant = make_tenant("cli_noworker")
    (tmp_path / "a.txt").write_text("Panel flutter.")
    with pytest.raises(CommandError, match="1 file\\(s\\) still queued") as raised:
        call_command("ingest", "--tenant", tenant.schema, "--timeout", "1.5", str(tmp_path))
    assert raised.value.returncode == 1
    err = capsys.readouterr().err
    # No worker of this test run is registered: said at once, and only once.
    assert err.count("No background worker is running") == 1
    assert "Start one with `celery -A config worker`, or use --sync." in err
    assert ingest.NO_WORKER_HINT not in err
    assert f"QUEUED {tmp_path / 'a.txt'}" in err
    assert "stay queued; they will be processed when a Celery worker runs" in err
    assert "FAILED" not in err
    with schema_context(tenant.schema):
        assert Document.objects.get().status == DocumentStatus.PENDING


@pytest.mark.parametrize("timeout", ["0", "-5"])
def test_ingest_refuses_a_timeout_that_is_not_positive(make_tenant, tmp_path, timeout):
    tenant = make_tenant("cli_timeout")
    (tmp_path / "a.txt").write_text("Panel flutter.")
    with pytest.raises(CommandError, match="--timeout must be a positive number of seconds"):
        call_command("ingest", "--tenant", tenant.schema, f"--timeout={timeout}", str(tmp_path))
    with schema_context(tenant.schema):
        assert not Document.objects.exists()


def test_reindex_names_the_embedder_the_workers_need(make_tenant, tmp_path, capsys):
    tenant = make_tenant("cli_reindex")
    (tmp_path / "a.txt").write_text("Flutter of panels.")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path), verbosity=0)
    capsys.readouterr()
    call_command("reindex", "--tenant", tenant.schema)
    out = capsys.readouterr().out
    assert "queued 1 documents for reindexing" in out
    assert "wait until a Celery worker picks them up" in out
    assert "workers run with EMBEDDING_BACKEND=hashing" in out
    assert "a running worker processes them" not in out


def test_ingest_duplicate_messages_speak_the_command_line(make_tenant, tmp_path, capsys):
    tenant = make_tenant("cli_dupes")
    (tmp_path / "a.txt").write_text("Flutter of panels.")
    (tmp_path / "copy.txt").write_text("Flutter of panels.")
    with pytest.raises(CommandError, match="1 file"):
        call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path), verbosity=0)
    err = capsys.readouterr().err
    assert "same content as 'a.txt', uploaded earlier in this run" in err
    assert "None" not in err
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "ingest", "--tenant", tenant.schema, "--sync", str(tmp_path / "a.txt"), verbosity=0
        )
    err = capsys.readouterr().err
    assert "use --allow-duplicate to upload it again" in err
    assert "?allow_duplicate" not in err
    assert "(document None)" not in err


def test_ingest_uploads_a_file_given_twice_once(make_tenant, tmp_path, capsys):
    tenant = make_tenant("cli_twice")
    (tmp_path / "a.txt").write_text("Flutter of panels.")
    name = str(tmp_path / "a.txt")
    call_command("ingest", "--tenant", tenant.schema, "--sync", name, name, verbosity=0)
    captured = capsys.readouterr()
    assert "1 of 1 files ingested" in captured.out
    assert "None" not in captured.err


def test_ingest_refuses_an_empty_folder(make_tenant, tmp_path):
    tenant = make_tenant("cli_empty")
    with pytest.raises(CommandError, match=f"^No files found in {tmp_path}\\.$"):
        call_command("ingest", "--tenant", tenant.schema, "--sync", str(tmp_path))


def test_ingest_skips_links_out_of_the_folder_and_hidden_files(make_tenant, tmp_path, capsys):
    tenant = make_tenant("cli_links")
    folder, outside = tmp_path / "in", tmp_path / "secret"
    folder.mkdir()
    outside.mkdir()
    (outside / "passwords.txt").write_text("Not for the index.")
    (folder / "a.txt").write_text("Flutter of panels.")
    (folder / "b.txt").symlink_to(folder / "a.txt")  # inside: the same file, once
    (folder / "leak.txt").symlink_to(outside / "passwords.txt")
    (folder / "leakdir").symlink_to(outside, target_is_directory=True)
    (folder / ".env").write_text("SECRET=1")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]")
    call_command("ingest", "--tenant", tenant.schema, "--sync", str(folder), verbosity=0)
    captured = capsys.readouterr()
    assert f"Skipped {folder / 'leak.txt'}: a symbolic link to" in captured.err
    assert f"Skipped {folder / 'leakdir'}: a symbolic link to" in captured.err
    assert "1 of 1 files ingested" in captured.out
    assert "Skipped 2 hidden file(s) or folder(s)" in captured.out
    with schema_context(tenant.schema):
        assert list(Document.objects.values_list("filename", flat=True)) == ["a.txt"]


@pytest.mark.parametrize("command", ["ingest", "reindex", "rebuild_index", "ask", "evaluate"])
def test_operator_commands_on_a_database_never_migrated_say_what_to_run(command, tmp_path, db):
    empty = f"empty_{os.getpid()}"
    params = libpq_params()
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{empty}"')
        admin.execute(f'CREATE DATABASE "{empty}"')
    try:
        arguments = {
            "ingest": ["--tenant", "acme", str(tmp_path)],
            "reindex": ["--tenant", "acme"],
            "rebuild_index": ["--tenant", "acme"],
            "ask": ["--tenant", "acme", "anything"],
            "evaluate": ["--dataset", str(tmp_path)],
        }[command]
        done = subprocess.run(
            [sys.executable, "manage.py", command, *arguments],
            cwd=ROOT,
            env={**worker_environment(), "DATABASE_NAME": empty},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{empty}"')
    assert done.returncode == 1
    assert "The database has no tables yet: run `python manage.py migrate_schemas`" in done.stderr
    assert "Traceback" not in done.stderr
