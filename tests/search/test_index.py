"""The tenant index: delta search, compaction, deletes, rebuild, reloads, mismatch, crashes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from documents import index_changes
from documents.embedder_choice import embedder_for_current_tenant
from documents.models import Chunk, Document, IndexState
from search import folding, index
from search.vectorindex import list_snapshot_versions
from tests.conftest import ROOT, TenantHandle, worker_environment
from tests.factories import DocumentFactory

TEXTS = [
    "supersonic flow over a swept wing with shock waves",
    "heat transfer in laminar boundary layers at hypersonic speed",
    "buckling of thin cylindrical shells under axial compression",
    "propeller slipstream effects on wing lift distribution",
    "vibration of turbine blades and flutter of panels",
    "skin friction drag in turbulent pipe flow",
]


def top_texts(query: str, k: int = 3, document_ids: list[int] | None = None) -> list[str]:
    vector = embedder_for_current_tenant().embed_query(query)
    hits = index.search_dense(vector, k, document_ids=document_ids)
    if document_ids is None:
        hits = [h for h in hits if h[1] > 1e-6]  # unrelated texts tie at 0 in any order
    by_id = dict(Chunk.objects.filter(id__in=[h[0] for h in hits]).values_list("id", "text"))
    return [by_id[chunk_id] for chunk_id, _ in hits]


@pytest.fixture
def tenant(make_tenant) -> Iterator[TenantHandle]:
    handle = make_tenant("vectors")
    with schema_context(handle.schema):
        yield handle


@pytest.mark.django_db
def test_new_chunks_are_searchable_before_and_after_compaction(tenant):
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    before = top_texts("shock waves on a swept wing")
    assert before[0] == TEXTS[0]
    result = index.compact()
    assert result.outcome == "rebuilt"
    assert result.vectors == len(TEXTS)
    assert IndexState.objects.get().version == result.version == 1
    assert not Chunk.objects.filter(in_snapshot=False).exists()
    assert top_texts("shock waves on a swept wing") == before
    DocumentFactory(filename="b.txt", chunks=["shock waves in a nozzle"])
    assert index.compact().outcome == "compacted"
    assert "shock waves in a nozzle" in top_texts("shock waves", k=6)


@pytest.mark.django_db
def test_filter_by_document_keeps_top_k_from_allowed_documents(tenant):
    wings = DocumentFactory(filename="wings.txt", chunks=TEXTS)
    other = DocumentFactory(
        filename="other.txt", chunks=["an unrelated note about lunch menus", "coffee"]
    )
    index.compact()
    texts = top_texts("shock waves on a swept wing", k=2, document_ids=[other.pk])
    assert set(texts) == {"an unrelated note about lunch menus", "coffee"}
    assert top_texts("anything", document_ids=[wings.pk + other.pk + 100]) == []


@pytest.mark.django_db
def test_deleted_chunks_disappear_at_once_and_from_the_snapshot(tenant, settings):
    keep = DocumentFactory(filename="keep.txt", chunks=TEXTS[1:])
    gone = DocumentFactory(filename="gone.txt", chunks=[TEXTS[0]])
    index.compact()
    from documents.services import delete_document

    gone_chunks = set(Chunk.objects.filter(document=gone).values_list("id", flat=True))
    delete_document(document=gone)
    vector = embedder_for_current_tenant().embed_query("shock waves on a swept wing")
    hits = index.search_dense(vector, 5)
    assert len(hits) == 5  # top-k still full although a deleted chunk was over-fetched
    assert gone_chunks.isdisjoint(h[0] for h in hits)
    result = index.compact()
    assert result.removed == 1
    assert result.vectors == len(TEXTS) - 1
    assert Document.objects.filter(pk=keep.pk).exists()


@pytest.mark.django_db
def test_rebuild_from_the_database_gives_the_same_top_k(tenant):
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    index.compact()
    queries = ["shock waves", "heat transfer", "turbine flutter", "drag in pipes"]
    before = [top_texts(q) for q in queries]
    for path in index.index_directory().iterdir():  # the files are a cache: wipe them all
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    index.snapshot_cache().clear()
    result = index.compact(rebuild=True)
    assert result.outcome == "rebuilt"
    assert [top_texts(q) for q in queries] == before


@pytest.mark.django_db
def test_embedder_change_is_detected_and_names_the_reindex_command(tenant):
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    index.compact()
    IndexState.objects.update(embedder="local:all-MiniLM-L6-v2")
    with pytest.raises(index.IndexMismatchError, match=r"manage\.py reindex --tenant vectors"):
        top_texts("shock waves")


@pytest.mark.django_db
def test_crash_before_the_version_commit_leaves_the_previous_version_usable(tenant, monkeypatch):
    DocumentFactory(filename="a.txt", chunks=TEXTS)
    index.compact()
    DocumentFactory(filename="b.txt", chunks=["shock waves in a nozzle"])

    def crash(*args, **kwargs):
        raise RuntimeError("power cut after the file was written")

    monkeypatch.setattr(folding, "prune_snapshots", crash)
    monkeypatch.setattr(IndexState.objects, "filter", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        index.compact()
    monkeypatch.undo()
    assert IndexState.objects.get().version == 1
    # The orphaned v2 file on disk is ignored; v1 plus the delta still answer.
    assert top_texts("shock waves on a swept wing")[0] == TEXTS[0]
    assert "shock waves in a nozzle" in top_texts("shock waves", k=7)


SEARCH_SCRIPT = """
import json, sys
from django_tenants.utils import schema_context
from documents.embedder_choice import embedder_for_current_tenant
from search import index
with schema_context(sys.argv[1]):
    vector = embedder_for_current_tenant().embed_query("shock waves on a swept wing")
    first = index.search_dense(vector, 3)
    print(json.dumps({"version": index.state().version, "hits": [h[0] for h in first]}))
    sys.stdout.flush()
    sys.stdin.readline()  # the test compacts a new version meanwhile
    second = index.search_dense(vector, 3)
    print(json.dumps({"version": index.state().version, "hits": [h[0] for h in second]}))
"""


@pytest.mark.usefixtures("committed_db")
def test_another_process_reloads_when_the_version_changes(committed_tenants):
    beta = committed_tenants[1]
    with schema_context(beta.schema):
        try:
            DocumentFactory(filename="v1.txt", chunks=TEXTS[1:])
            index.compact()
            reader = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import django; django.setup()\n{SEARCH_SCRIPT}",
                    beta.schema,
                ],
                cwd=ROOT,
                env={**worker_environment(), "DJANGO_SETTINGS_MODULE": "config.settings"},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert reader.stdout is not None
            assert reader.stdin is not None
            first = json.loads(reader.stdout.readline())
            newcomer = DocumentFactory(filename="v2.txt", chunks=[TEXTS[0]])
            index.compact()
            reader.stdin.write("go\n")
            reader.stdin.flush()
            second = json.loads(reader.stdout.readline())
            reader.wait(timeout=30)
            new_chunk = Chunk.objects.get(document=newcomer).pk
            assert second["version"] == first["version"] + 1
            assert new_chunk not in first["hits"]
            assert second["hits"][0] == new_chunk
        finally:
            Document.objects.all().delete()
            IndexState.objects.all().delete()


@pytest.mark.usefixtures("committed_db")
def test_concurrent_writers_never_corrupt_the_index(committed_tenants):
    alpha = committed_tenants[0]
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with schema_context(alpha.schema):
                DocumentFactory(filename=f"w{n}.txt", chunks=[f"{t} (copy {n})" for t in TEXTS])
                index.compact()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with schema_context(alpha.schema):
        # Earlier tests of this committed tenant delete their documents without tombstones
        # (tests/conftest.py `alpha`), which leaves their vectors in its snapshot: start from
        # an empty index, so that the count below is this test's alone.
        Document.objects.all().delete()
        IndexState.objects.all().delete()
        try:
            threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert errors == []
            index.compact()  # whatever a busy writer skipped
            state = IndexState.objects.get()
            versions = list_snapshot_versions(index.index_directory())
            assert state.version in versions
            assert state.snapshot_count == 4 * len(TEXTS)
            index.snapshot_cache().clear()
            hits = top_texts("supersonic flow over a swept wing", k=4)
            assert all(text.startswith(TEXTS[0]) for text in hits)
        finally:
            Document.objects.all().delete()
            IndexState.objects.all().delete()


@pytest.mark.django_db
def test_a_chunk_written_while_the_index_is_rebuilt_stays_for_the_next_compaction(
    make_tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild reads every chunk, then publishes; a chunk committed in between must not be
    marked as indexed (it would never be searchable by vector)."""
    handle = make_tenant("rebuildrace")
    real_read = folding.read_vectors
    late: list[int] = []

    def read_then_someone_writes(*args: Any, **kwargs: Any) -> Any:
        read = real_read(*args, **kwargs)
        if not late:  # another upload lands while the snapshot is being built
            document = DocumentFactory(filename="late.txt", chunks=["late arrival about flutter"])
            late.append(document.chunks.get().pk)
        return read

    with schema_context(handle.schema):
        DocumentFactory(filename="first.txt", chunks=TEXTS[:2])
        monkeypatch.setattr(folding, "read_vectors", read_then_someone_writes)
        assert index.compact(rebuild=True).outcome == "rebuilt"
        monkeypatch.setattr(folding, "read_vectors", real_read)
        assert Chunk.objects.get(pk=late[0]).in_snapshot is False  # still in the delta
        index.compact()
        assert Chunk.objects.get(pk=late[0]).in_snapshot is True
        assert IndexState.objects.get().snapshot_count == 3


@pytest.mark.django_db
def test_a_document_filter_finds_chunks_added_to_its_documents_after_a_search(tenant):
    # The filter's chunk ids are remembered per process; new chunks must still be found.
    wings = DocumentFactory(filename="wings.txt", chunks=TEXTS[:1])
    other = DocumentFactory(filename="later.txt")
    ids = [wings.pk, other.pk]
    assert top_texts("heat transfer in laminar boundary layers", k=2, document_ids=ids) == [
        TEXTS[0]
    ]
    embedder = embedder_for_current_tenant()
    Document.objects.filter(pk=other.pk).update(embedder=embedder.name)  # as ingestion does
    vector = embedder.embed_documents([TEXTS[1]])[0]
    Chunk.objects.create(
        document=other, ordinal=0, text=TEXTS[1], embedding=vector.astype("<f4").tobytes()
    )
    index_changes.chunks_changed()
    found = top_texts("heat transfer in laminar boundary layers", k=2, document_ids=ids)
    assert found[0] == TEXTS[1]
