"""PostgreSQL restarted while a client searches and lists documents, with an upload in flight.

Every request during the outage answers within REQUEST_BOUND_SECONDS with 503, Retry-After
and a sentence; afterwards the same web and worker processes answer 200 again by
themselves, and the document uploaded just before the outage ends ready.
"""

from __future__ import annotations

import copy
import socket
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection, connections
from django.test import RequestFactory

from config.exceptions import DATABASE_UNAVAILABLE, server_error
from tests.faults.load import REQUEST_BOUND_SECONDS, Client, Sample, refusal_problems
from tests.faults.platform import PrivatePlatform

OUTAGE_SECONDS = 4.0
HANDBOOK = (
    b"Holidays. Everyone gets 25 days of paid holiday a year.\n\n"
    b"Notice. After the probation period of six months, the notice period is three months.\n"
)


def stored_files(platform: PrivatePlatform) -> list[Path]:
    return sorted(path for path in (platform.root / "media").rglob("*") if path.is_file())


@pytest.mark.slow
def test_requests_fail_fast_during_a_postgres_restart_and_recover_by_themselves(
    platform: PrivatePlatform,
) -> None:
    first = platform.upload("handbook.txt", HANDBOOK)
    assert first.status == 202, first.body
    assert platform.wait_final(first.json()["id"])["status"] == "ready"
    search = {"query": "notice period"}
    client = Client(
        {
            "search": lambda: platform.post_json("/api/v1/search/", search),
            "documents": lambda: platform.get("/api/v1/documents/"),
        }
    )
    with client:
        time.sleep(1)
        late = platform.upload("late.txt", b"A document uploaded as the database went down.\n")
        assert late.status == 202, late.body
        down = time.monotonic()
        platform.postgres.stop()
        stored_before = stored_files(platform)
        upload = platform.upload("refused.txt", b"Uploaded while the database was down.\n")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
        platform.postgres.start()
        up = time.monotonic()
        recovery = client.first_ok_after(up)
        time.sleep(1)

    slowest = max(s.answer.seconds for s in client.samples)
    print(
        f"\nPostgreSQL down {up - down:.1f} s (fast shutdown to accepting connections); "
        f"search and document list answered 200 again {recovery:.2f} s after it was back; "
        f"{len(client.samples)} requests, slowest {slowest:.2f} s"
    )
    outage = client.between(down, up)
    refused = [s for s in outage if s.answer.status == 503]
    assert len(refused) >= 10, [(s.what, s.answer.status) for s in outage]
    assert refusal_problems(client.samples) == []
    assert recovery < 5
    assert all(platform.alive().values()), platform.alive()
    # An upload during the outage is refused with the same sentence, and keeps no file.
    assert refusal_problems([Sample(down, "upload", upload)]) == []
    assert upload.status == 503
    assert stored_files(platform) == stored_before
    # The upload made just before the outage was retried to ready, by the same worker.
    document = platform.wait_final(late.json()["id"], timeout=90)
    assert (document["status"], document["error"]) == ("ready", "")
    assert platform.post_json("/api/v1/search/", {"query": "database went down"}).status == 200


def test_a_database_that_accepts_but_never_answers_fails_within_the_connect_timeout(
    committed_db: None,
) -> None:
    """A black-holed database host: the kernel completes the handshake, the server never
    speaks. Connecting gives up after DB_CONNECT_TIMEOUT, which a request answers with 503."""
    timeout = connection.settings_dict["OPTIONS"]["connect_timeout"]
    assert 1 <= timeout < REQUEST_BOUND_SECONDS
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # never accepted, never answered
        settings_dict = copy.deepcopy(connection.settings_dict)
        settings_dict.update(HOST="127.0.0.1", PORT=str(silent.getsockname()[1]))
        wrapper = type(connections["default"])(settings_dict, alias="silent")
        began = time.monotonic()
        with pytest.raises(DATABASE_UNAVAILABLE):
            wrapper.ensure_connection()
        waited = time.monotonic() - began
    print(f"\nconnecting to a silent database gave up after {waited:.1f} s")
    assert timeout - 0.5 <= waited < REQUEST_BOUND_SECONDS


def test_a_dashboard_page_says_the_database_is_unreachable_in_a_503_page() -> None:
    request = RequestFactory().get("/documents/", HTTP_ACCEPT="text/html")
    try:
        raise OperationalError("connection to server failed: Connection refused")
    except OperationalError:  # handler500 runs inside Django's `except`
        page = server_error(request)
    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert page["Content-Type"].startswith("text/html")
    assert b"The service cannot reach its database right now" in page.content
