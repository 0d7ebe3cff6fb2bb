"""Redis stopped for a while under requests, in real processes (gunicorn, a Celery worker).

tests/queries/test_redis_outage.py shows, in one process, that search and ask skip the
cache while it is down and use it again once it is back. Here the whole platform lives
through it: search, ask and the document list keep answering 200, sign-in refuses with 503
as docs/security.md says (its limits cannot be counted), an upload made during the outage
is either accepted and then processed once Redis is back or refused with a sentence (never
accepted and lost), and nothing needs restarting afterwards.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.load import Client, refusal_problems
from tests.faults.platform import PrivatePlatform

OUTAGE_SECONDS = 60.0  # "down for a minute during load"


@pytest.mark.slow
def test_search_and_ask_answer_through_a_redis_outage_and_no_upload_is_lost(
    platform: PrivatePlatform,
) -> None:
    first = platform.upload("travel.txt", b"Travel. Book trains for trips under 600 km.\n")
    assert first.status == 202, first.body
    assert platform.wait_final(first.json()["id"])["status"] == "ready"
    client = Client(
        {
            "search": lambda: platform.post_json("/api/v1/search/", {"query": "book trains"}),
            "ask": lambda: platform.post_json("/api/v1/ask/", {"question": "How do I travel?"}),
            "documents": lambda: platform.get("/api/v1/documents/"),
        }
    )
    with client:
        time.sleep(1)
        down = time.monotonic()
        platform.redis.stop()
        time.sleep(2)
        sign_in = platform.sign_in()
        upload = platform.upload("outage.txt", b"Uploaded while the cache and queue were down.\n")
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
        platform.redis.start()
        up = time.monotonic()
        recovery = client.first_ok_after(up)
        time.sleep(1)

    outage = client.between(down + 1, up)  # from a second in: requests already in flight
    print(
        f"\nRedis down {up - down:.1f} s: {len(outage)} requests answered meanwhile "
        f"({sum(s.answer.status == 200 for s in outage)} with 200, slowest "
        f"{max(s.answer.seconds for s in outage):.2f} s); sign-in {sign_in.status} in "
        f"{sign_in.seconds:.2f} s, upload {upload.status} in {upload.seconds:.2f} s; every "
        f"request answered 200 again {recovery:.2f} s after it was back"
    )
    assert refusal_problems(client.samples) == []
    assert {s.what for s in outage if s.answer.status == 200} == {"search", "ask", "documents"}
    assert all(s.answer.status == 200 for s in outage), [
        (s.what, s.answer.status) for s in outage if s.answer.status != 200
    ]
    # Sign-in fails closed: its attempt limits cannot be counted.
    assert sign_in.status == 503, sign_in.body
    assert sign_in.headers.get("Retry-After", "").isdigit()
    assert sign_in.json()["error"]["message"].endswith(".")
    # Sign-in works again without a restart.
    assert platform.sign_in().status == 200
    assert all(platform.alive().values()), platform.alive()
    if upload.status == 202:
        document = platform.wait_final(upload.json()["id"], timeout=90)
        assert (document["status"], document["error"]) == ("ready", "")
    else:
        assert upload.status == 503, upload.body
        assert upload.json()["error"]["message"].endswith(".")
        names = [d["filename"] for d in platform.get("/api/v1/documents/").json()["results"]]
        assert "outage.txt" not in names  # refused means not kept half-way
    # Uploads are queued again, by the same web and worker processes.
    after = platform.upload("after.txt", b"Uploaded once the queue was back.\n")
    assert after.status == 202, after.body
    assert platform.wait_final(after.json()["id"], timeout=60)["status"] == "ready"
    # The cache is used again.
    cached = [platform.post_json("/api/v1/search/", {"query": "book trains"}) for _ in range(2)]
    assert cached[-1].json()["cached"] is True
