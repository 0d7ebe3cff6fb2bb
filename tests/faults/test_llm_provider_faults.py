"""The LLM provider slow, failing, malformed and oversized while questions and searches arrive.

The platform's web processes (gunicorn as production runs it: 2 workers of 4 threads) answer
with the `openai` backend, pointed at a fake provider in this process (fake_llm.py), with the
default ANSWER_MAX_RETRIES and ANSWER_CONCURRENCY and a 2 s ANSWER_TIMEOUT_SECONDS. For each
way the provider fails, rounds of six questions are asked at once, every other one streamed,
for at least 1.5 s, while a client keeps searching; then twice as many slow questions at once
as the web processes have threads. Every question answers 200 with the extractive answer,
`"degraded": true`, within the timeout and a margin; no stream ends on an error; each is in
the query log, marked degraded; and searches meanwhile keep their usual latency (under a
second; a slow provider never holds every thread). When the provider is healthy again, the
next question is answered by it, by the same web processes. The measured times are printed.

Before the answer's timeout bounded retries and reading, and before ANSWER_CONCURRENCY, the
slowest question took 15 s here, one the provider told to retry after 30 s got no answer
within 30 s, and searches waited up to 23 s behind the sixteen slow questions.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from tests.faults.fake_llm import FakeProvider
from tests.faults.load import Client, Sample
from tests.faults.platform import Answer, PrivatePlatform

TIMEOUT = 2.0  # ANSWER_TIMEOUT_SECONDS on the platform
MARGIN = 1.0  # retrieval and the extractive answer, on two busy cores
GIVE_UP = 30.0  # seconds the test waits for an answer
THREADS = 8  # WEB_CONCURRENCY (2) times GUNICORN_THREADS (4), platform.py
FAULTS = ("slow", "stalled", "error", "overloaded", "malformed", "oversized")
HANDBOOK = (
    b"Everyone gets 25 days of paid holiday a year.\n\n"
    b"After the probation period of six months, the notice period is three months.\n\n"
    b"Salaries are paid on the last working day of each month.\n"
)
QUESTIONS = {
    "How many days of paid holiday does everyone get?": "25 days",
    "How long is the notice period after probation?": "three months",
    "When are salaries paid?": "last working day",
}


@dataclass
class Asked:
    """One question over HTTP: the answer's body (a stream's `done` event) and its events."""

    question: str
    streamed: bool
    answer: Answer
    body: dict[str, Any]
    events: list[str]


def ask(platform: PrivatePlatform, question: str, streamed: bool) -> Asked:
    sent = {"question": question, "no_cache": True, "stream": streamed}
    try:
        answer = platform.post_json("/api/v1/ask/", sent, timeout=GIVE_UP)
    except TimeoutError:
        answer = Answer(0, {}, f"no answer within {GIVE_UP} s".encode(), GIVE_UP)
    if not streamed or answer.status != 200:
        body = answer.json() if answer.status == 200 else {}
        return Asked(question, streamed, answer, body, [])
    events, body = [], {}
    for block in answer.body.decode().split("\n\n"):
        if block.strip():
            name, data = (line.split(": ", 1)[1] for line in block.splitlines()[:2])
            events.append(name)
            body = json.loads(data) if name == "done" else body
    return Asked(question, streamed, answer, body, events)


def ask_at_once(platform: PrivatePlatform, count: int) -> list[Asked]:
    """`count` questions sent together, every other one streamed."""
    questions = [list(QUESTIONS)[i % len(QUESTIONS)] for i in range(count)]
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda i: ask(platform, questions[i], i % 2 == 1), range(count)))


def fallback_problems(asked: list[Asked], bound: float) -> list[str]:
    """What is wrong with answers that should all be the extractive fallback within `bound`."""
    problems = []
    for one in asked:
        what = f"{'streamed' if one.streamed else 'JSON'} {one.question!r}"
        if one.answer.status != 200:
            problems.append(f"{what}: {one.answer.status} {one.answer.body[:200]!r}")
            continue
        if one.answer.seconds > bound:
            problems.append(f"{what} took {one.answer.seconds:.2f} s")
        if one.streamed and one.events[-1:] != ["done"]:
            problems.append(f"{what}: the stream ended with {one.events[-1:]}")
        if (one.body.get("degraded"), one.body.get("backend")) != (True, "extractive"):
            problems.append(
                f"{what}: {one.body.get('backend')}, degraded {one.body.get('degraded')}"
            )
        if QUESTIONS[one.question] not in one.body.get("answer", ""):
            problems.append(f"{what}: answered {one.body.get('answer')!r}")
    return problems


def search_times(samples: list[Sample]) -> str:
    seconds = [s.answer.seconds for s in samples]
    if not seconds:
        return "no searches"
    return (
        f"{len(seconds)} searches, p50 {statistics.median(seconds):.3f} s, max {max(seconds):.2f} s"
    )


def forget_rate_counters(platform: PrivatePlatform) -> int:
    """Clear the rate limits' counters (accounts/ratecounters.py), so the fault tests after
    this one start with none of its minute's hits; returns how many there were."""
    client = redis.Redis.from_url(platform.redis.url)
    keys = list(client.scan_iter("*:rl:*"))
    return int(client.delete(*keys)) if keys else 0


def set_plan(platform: PrivatePlatform, plan: str) -> None:
    """The workspace's plan (web processes started afterwards see it at once)."""
    update = "UPDATE public.tenants_tenant SET plan = %s WHERE schema_name = %s RETURNING plan"
    assert platform.sql(update, plan, platform.schema) == [(plan,)]


@pytest.fixture
def provider(platform: PrivatePlatform) -> Iterator[FakeProvider]:
    """The fake provider, and the platform's web processes answering with it; afterwards the
    web processes as the other fault tests expect them."""
    fake = FakeProvider(slow_seconds=4 * TIMEOUT, retry_after=30)
    fake.start()
    saved = dict(platform.overrides)
    platform.overrides.update(
        ANSWER_BACKEND="openai",
        OPENAI_BASE_URL=fake.url,
        OPENAI_API_KEY="fake-key",
        ANSWER_TIMEOUT_SECONDS=str(TIMEOUT),
        RATELIMIT_API="100000/m",
    )
    # Room for a minute of questions and searches from several threads (the plan's limit).
    set_plan(platform, "enterprise")
    platform.stop_process("web")
    platform.start_web()
    try:
        yield fake
    finally:
        set_plan(platform, "pro")
        forget_rate_counters(platform)
        platform.overrides.clear()
        platform.overrides.update(saved)
        platform.stop_process("web")
        platform.start_web()
        fake.stop()


def warm_up(platform: PrivatePlatform) -> None:
    """Both web processes load the workspace's search caches before anything is measured."""
    search = {"query": "holiday"}
    with ThreadPoolExecutor(THREADS) as pool:
        for _ in range(3):
            assert set(pool.map(lambda _: platform.post_json("/api/v1/search/", search).status,
                                range(THREADS))) == {200}  # fmt: skip
        assert {a.answer.status for a in ask_at_once(platform, 3)} == {200}


def run_phase(platform: PrivatePlatform, at_once: int, seconds: float = 0.0) -> list[Asked]:
    """Rounds of `at_once` questions, for at least `seconds` (one round at least)."""
    ends = time.monotonic() + seconds
    asked = ask_at_once(platform, at_once)
    while time.monotonic() < ends:
        asked += ask_at_once(platform, at_once)
    return asked


def served_by_provider(asked: list[Asked]) -> list[tuple[Any, Any]]:
    return [(one.body.get("backend"), one.body.get("degraded")) for one in asked]


@pytest.mark.slow
def test_questions_fall_back_within_the_timeout_whatever_the_provider_does(
    platform: PrivatePlatform, provider: FakeProvider
) -> None:
    uploaded = platform.upload("handbook.txt", HANDBOOK)
    assert uploaded.status == 202, uploaded.body
    assert platform.wait_final(uploaded.json()["id"])["status"] == "ready"
    warm_up(platform)
    web_pid = platform.processes["web"].pid
    booted = platform.log("web").count(b"Booting worker")
    searches = Client(
        {"search": lambda: platform.post_json("/api/v1/search/", {"query": "notice period"})},
        pause=0.1,
    )
    asked: dict[str, list[Asked]] = {}
    phases: dict[str, tuple[float, float]] = {}
    with searches:
        time.sleep(1)
        began = time.monotonic()
        asked["healthy"] = run_phase(platform, 3, seconds=1.5)
        phases["healthy"] = (began, time.monotonic())
        for mode in FAULTS:
            provider.mode = mode
            began = time.monotonic()
            asked[mode] = run_phase(platform, 6, seconds=1.5)
            phases[mode] = (began, time.monotonic())
        # Twice as many slow questions at once as the web processes have threads.
        provider.mode = "slow"
        began = time.monotonic()
        asked["burst"] = run_phase(platform, 2 * THREADS)
        phases["burst"] = (began, time.monotonic())
        provider.mode = "healthy"
        recovered_at = time.monotonic()
        first = ask(platform, next(iter(QUESTIONS)), streamed=False)
        recovery = time.monotonic() - recovered_at
        after = run_phase(platform, 3)
        time.sleep(0.5)

    print()
    at_once = {"healthy": 3, "burst": 2 * THREADS}
    for name, (start, end) in phases.items():
        slowest = max(one.answer.seconds for one in asked[name])
        print(
            f"provider {name}: {len(asked[name])} questions, {at_once.get(name, 6)} at once, "
            f"slowest {slowest:.2f} s (timeout {TIMEOUT} s); "
            f"meanwhile {search_times(searches.between(start, end))}"
        )
    print(
        f"provider healthy again: the next question answered by it in {recovery:.2f} s; "
        f"requests the provider received per mode {dict(provider.received)}"
    )
    assert set(served_by_provider(asked["healthy"])) == {("openai", False)}
    for mode in (*FAULTS, "burst"):
        assert fallback_problems(asked[mode], TIMEOUT + MARGIN) == [], mode
    for mode in FAULTS:
        assert provider.received[mode] > 0, mode
    # A Retry-After past the timeout is not waited for: one request per question at most.
    assert provider.received["overloaded"] <= len(asked["overloaded"])
    for name, (start, end) in phases.items():
        during = searches.between(start, end)
        assert during, f"no search ran while the provider was {name}"
        assert max(s.answer.seconds for s in during) < MARGIN, (name, search_times(during))
    assert [s.answer.status for s in searches.samples] == [200] * len(searches.samples)
    # Every question is in the query log, marked degraded (the fallbacks), without an error.
    fallbacks = [one.body["query_id"] for mode in (*FAULTS, "burst") for one in asked[mode]]
    logged = platform.sql("SELECT degraded, error FROM queries_query WHERE id = ANY(%s)", fallbacks)
    assert sorted(logged) == [(True, "")] * len(fallbacks)
    # Back without a restart: the provider answers again, through the same web processes.
    assert served_by_provider([first, *after]) == [("openai", False)] * (1 + len(after))
    assert platform.processes["web"].pid == web_pid
    assert platform.log("web").count(b"Booting worker") == booted
