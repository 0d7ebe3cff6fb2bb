"""A bulk import of 500 files with the worker killed mid-way and beat killed and restarted.

The files go up through the API, 20 to a request, as a person's script would send them: a
mix of text, Markdown, CSV and HTML, a few of them with no text at all. The worker is
SIGKILLed (with its pool and sandbox processes) while it holds batches, a new one starts,
then beat is SIGKILLed and started again. Beat's stuck-document sweep (every few seconds
here, INGEST_STUCK_MINUTES shortened to match) must give back what the dead worker held;
then the broker gives the dead worker's messages back too, as it does once
CELERY_VISIBILITY_TIMEOUT has passed. Every document ends `ready`, or `failed` with a
sentence for the files without text; none is left pending or processing, none is stored
twice (the sweep's task and the returned message both ran one before documents/pipeline.py
kept a document to the task that took it), and search finds them.
"""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from tests.faults.platform import PrivatePlatform

FILES = 500
PER_REQUEST = 20  # the API's most files per request
BROKEN = {17, 111, 222, 333, 444}  # files with no text at all: they end `failed`
FINAL = {"ready", "failed"}
IN_FLIGHT = "SELECT id FROM documents_document WHERE status IN ('pending', 'processing')"


def word(n: int) -> str:
    """A made-up word only file `n` holds (letters only, so every tokenizer keeps it)."""
    letters = ""
    for _ in range(3):
        n, digit = divmod(n, 26)
        letters += chr(ord("a") + digit)
    return f"zorbex{letters}"


def make_file(n: int) -> tuple[str, bytes]:
    kind = ("txt", "md", "csv", "html")[n % 4]
    name = f"import-{n:03d}.{kind}"
    if n in BROKEN:
        empty = {
            "txt": b"   \n\n\t  \n",
            "md": b"\n\n   \n",
            "csv": b"\n\n",
            "html": b"<html><head><script>var x = 1;</script></head><body></body></html>",
        }
        return name, empty[kind]
    text = f"Record {n} of the archive mentions {word(n)} beside the harbour inventory."
    body = {
        "txt": f"{text}\n",
        "md": f"# Archive note {n}\n\n{text}\n",
        "csv": f"record,note\n{n},{text}\n",
        "html": f"<html><body><h1>Archive page {n}</h1><p>{text}</p></body></html>",
    }
    return name, body[kind].encode()


def outcomes(log: bytes) -> Counter[int]:
    """How many times each document was stored `ready`, from the workers' task results."""
    stored: Counter[int] = Counter()
    for result in re.findall(rb"succeeded in [0-9.]+s: (\{[^}\n]*\})", log):
        for document_id in re.findall(rb"'(\d+)': 'ready'", result):
            stored[int(document_id)] += 1
    return stored


def swept(log: bytes) -> set[int]:
    """Documents run by a single-document task: the import sent batches, the sweep these."""
    pattern = rb"ingest_document\[[^\]]+\] succeeded in [0-9.]+s: \{'(\d+)'"
    return {int(n) for n in re.findall(pattern, log)}


def sweeps(log: bytes) -> list[int]:
    """The number of documents each run of the stuck-document sweep re-queued."""
    pattern = rb"sweep_stuck_documents\[[^\]]+\] succeeded in [0-9.]+s: \{'requeued': (\d+)"
    return [int(n) for n in re.findall(pattern, log)]


@pytest.fixture
def beat(platform: PrivatePlatform) -> object:
    platform.start_beat()
    yield
    platform.stop_process("beat")


@pytest.mark.slow
def test_a_bulk_import_survives_a_killed_worker_and_a_restarted_beat(
    platform: PrivatePlatform, beat: object
) -> None:
    files = [make_file(n) for n in range(FILES)]
    began = time.monotonic()
    ids: dict[str, int] = {}
    for start in range(0, FILES, PER_REQUEST):
        answer = platform.upload_many(files[start : start + PER_REQUEST])
        assert answer.status == 202, answer.body
        assert answer.json()["errors"] == [], answer.body
        ids.update((d["filename"], d["id"]) for d in answer.json()["documents"])
    uploaded = time.monotonic()
    assert len(ids) == FILES
    # Kill the worker once it is well into the import: it holds a batch (being processed,
    # or fetched and waiting for the process), as it does while any is queued.
    deadline = time.monotonic() + 120
    while platform.count("status=ready") < FILES // 5:
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.2)
    platform.kill("worker")
    killed, killed_at = time.monotonic(), time.time()
    in_flight = {pk for (pk,) in platform.sql(IN_FLIGHT)}
    platform.start_worker(concurrency=2)
    platform.kill("beat")
    platform.start_beat()
    restarted = time.monotonic()
    # The sweep re-queues what the dead worker held; then the broker gives its unacknowledged
    # messages back too (after CELERY_VISIBILITY_TIMEOUT, which is also 15 minutes).
    deadline = time.monotonic() + 60
    while not any(sweeps(platform.log("worker"))):
        assert time.monotonic() < deadline, "the sweep re-queued nothing"
        time.sleep(0.2)
    redelivered = platform.redeliver_unacknowledged(delivered_before=killed_at)
    deadline = time.monotonic() + 150
    while platform.sql(IN_FLIGHT):
        assert time.monotonic() < deadline, platform.sql(IN_FLIGHT)[:5]
        time.sleep(0.5)
    final = time.monotonic()
    documents = [d for d in platform.documents() if d["id"] in set(ids.values())]
    log = platform.log("worker")
    requeued = [n for n in sweeps(log) if n]
    print(
        f"\n{FILES} files uploaded in {uploaded - began:.1f} s; worker killed "
        f"{killed - uploaded:.1f} s later with {len(in_flight)} documents in flight; new worker "
        f"and restarted beat up {restarted - killed:.1f} s after the kill; every document "
        f"final {final - killed:.1f} s after the kill (sweeps re-queued {requeued}, then the "
        f"broker gave back the dead worker's {redelivered} messages)"
    )
    assert len(documents) == FILES
    assert {d["status"] for d in documents} <= FINAL
    failed = {d["filename"]: d["error"] for d in documents if d["status"] == "failed"}
    assert set(failed) == {files[n][0] for n in BROKEN}, failed
    assert all(r[:1].isupper() and r.endswith(".") for r in failed.values()), failed
    # What the dead worker held came back through the sweep (one task per document)...
    assert redelivered
    recovered = swept(log) & in_flight
    assert recovered
    assert len(recovered) <= sum(requeued)
    # ... and every document was stored once: one run reported it ready, one set of chunks.
    ready = {d["id"]: d for d in documents if d["status"] == "ready"}
    stored = outcomes(log)
    assert {pk: stored[pk] for pk in ready if stored[pk] != 1} == {}
    chunks = dict(platform.sql("SELECT document_id, count(*) FROM documents_chunk GROUP BY 1"))
    assert {pk: chunks.get(pk, 0) for pk in ready} == dict.fromkeys(ready, 1)
    assert all(d["chunk_count"] == 1 for d in ready.values())
    # Search finds a document the dead worker held, by its own word.
    sample = min(recovered & set(ready))
    number = int(ready[sample]["filename"][7:10])
    hits = platform.post_json("/api/v1/search/", {"query": word(number)})
    assert hits.status == 200, hits.body
    assert hits.json()["results"][0]["document_id"] == sample, hits.body
