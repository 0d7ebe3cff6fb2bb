"""Several faults in a row on one platform, under a light load of searches and lists.

PostgreSQL is restarted, then Redis is down for 10 s, then the worker is SIGKILLed while it
processes an upload (its replacement starts, as a supervisor would start one); documents are
uploaded before and between the faults. After each one the platform recovers by itself: the
same gunicorn processes answer throughout (no restart of web, none of its workers replaced),
nothing answers 5xx but the prompt 503s with Retry-After during the two outages, and at the
end every accepted upload is `ready`. The recovery after each fault is printed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.documents import samples
from tests.faults.load import Client, refusal_problems
from tests.faults.platform import Answer, PrivatePlatform, PrivatePostgres, PrivateRedis

PG_DOWN_SECONDS = 4.0
REDIS_DOWN_SECONDS = 10.0


@pytest.fixture
def beat(platform: PrivatePlatform) -> Iterator[None]:
    platform.start_beat()
    yield
    platform.stop_process("beat")


def accepted(answer: Answer) -> int:
    assert answer.status == 202, answer.body
    return int(answer.json()["id"])


def upload_until_accepted(platform: PrivatePlatform, name: str, since: float) -> tuple[int, float]:
    """Upload until it is accepted; the document, and when (seconds after `since`)."""
    deadline = time.monotonic() + 60
    while True:
        answer = platform.upload(name, f"{name}: uploaded once the platform was back.\n".encode())
        if answer.status == 202:
            return int(answer.json()["id"]), time.monotonic() - since
        assert answer.status == 503, answer.body
        assert time.monotonic() < deadline, "uploads were still refused a minute later"
        time.sleep(0.2)


def down_for(server: PrivatePostgres | PrivateRedis, seconds: float) -> tuple[float, float]:
    """Stop `server` for `seconds`, then start it; when it went down and when it was back."""
    down = time.monotonic()
    server.stop()
    time.sleep(seconds)
    server.start()
    return down, time.monotonic()


def wait_processing(platform: PrivatePlatform, document_id: int) -> None:
    deadline = time.monotonic() + 60
    while platform.document(document_id)["status"] != "processing":
        assert time.monotonic() < deadline, platform.document(document_id)
        time.sleep(0.05)


@pytest.mark.slow
def test_the_platform_recovers_by_itself_from_several_faults_in_a_row(
    platform: PrivatePlatform, beat: None
) -> None:
    web_pid = platform.processes["web"].pid
    booted = platform.log("web").count(b"Booting worker")
    assert booted >= 2, platform.log("web")[-2000:]
    first = accepted(platform.upload("before.txt", b"Harbour cranes are inspected every spring.\n"))
    assert platform.wait_final(first)["status"] == "ready"
    client = Client(
        {
            "search": lambda: platform.post_json("/api/v1/search/", {"query": "harbour cranes"}),
            "documents": lambda: platform.get("/api/v1/documents/"),
        },
        pause=0.2,
    )
    uploads = [first]
    outages: list[tuple[float, float]] = []
    with client:
        time.sleep(1)
        # 1. PostgreSQL restarted, with an upload in flight.
        late = platform.upload("pg-in-flight.txt", b"Sent as PostgreSQL stops.\n")
        uploads.append(accepted(late))
        down, up = down_for(platform.postgres, PG_DOWN_SECONDS)
        outages.append((down, up))
        pg_recovery = client.first_ok_after(up)
        document, pg_upload = upload_until_accepted(platform, "after-pg.txt", up)
        uploads.append(document)
        # 2. Redis down for ten seconds, with an upload queued just before.
        uploads.append(accepted(platform.upload("redis-queued.txt", b"Queued as Redis stops.\n")))
        down, up = down_for(platform.redis, REDIS_DOWN_SECONDS)
        outages.append((down, up))
        redis_recovery = client.first_ok_after(up)
        document, redis_upload = upload_until_accepted(platform, "after-redis.txt", up)
        uploads.append(document)
        # 3. The worker killed while it processes a long upload; a new one starts.
        held = accepted(platform.upload("long.pdf", samples.make_multipage_pdf(300, 20)))
        uploads.append(held)
        wait_processing(platform, held)
        platform.kill("worker")
        killed = time.monotonic()
        platform.start_worker()
        document, _ = upload_until_accepted(platform, "after-kill.txt", killed)
        uploads.append(document)
        assert platform.wait_final(held, timeout=120)["status"] == "ready"
        kill_recovery = time.monotonic() - killed
        finals = {pk: platform.wait_final(pk, timeout=90) for pk in uploads}
        time.sleep(1)

    samples_seen = len(client.samples)
    print(
        f"\nPostgreSQL restarted ({PG_DOWN_SECONDS:.0f} s down): requests 200 again "
        f"{pg_recovery:.2f} s after it was back, an upload accepted after {pg_upload:.2f} s; "
        f"Redis down {REDIS_DOWN_SECONDS:.0f} s: requests 200 again {redis_recovery:.2f} s "
        f"after, an upload accepted after {redis_upload:.2f} s; worker killed mid-document: "
        f"the document ready {kill_recovery:.1f} s after the kill; {samples_seen} requests"
    )
    assert refusal_problems(client.samples) == []
    refused_outside = [
        (round(s.at - outages[0][0], 1), s.what, s.answer.status)
        for s in client.samples
        if s.answer.status != 200 and not any(down <= s.at <= up + 1 for down, up in outages)
    ]
    assert refused_outside == []
    assert {pk: (d["status"], d["error"]) for pk, d in finals.items()} == dict.fromkeys(
        uploads, ("ready", "")
    )
    # The same web processes served throughout: gunicorn's master, and none of its workers
    # was replaced.
    assert platform.processes["web"].pid == web_pid
    assert platform.processes["web"].poll() is None
    assert platform.log("web").count(b"Booting worker") == booted
    assert platform.processes["beat"].poll() is None, "beat did not live through the faults"
    assert pg_recovery < 5
    assert redis_recovery < 5
