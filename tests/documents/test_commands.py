"""The operator commands: ingest, rebuild_index, reindex."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from documents.models import Chunk, ChunkNeighbours, Document, DocumentStatus, IndexState
from search import bm25_store, chunk_links

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
