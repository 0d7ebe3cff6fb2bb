"""ANSWER_TIMEOUT_SECONDS bounds the whole answer from the provider: tries, waits, reading.

Against the fake provider of the fault tests (tests/faults/fake_llm.py), in threads of this
process: each way of being slow ends with the extractive answer, marked degraded, within the
timeout, whether the answer is asked for whole or streamed. Before, a provider generating at
a crawl held the request for as long as it went on, each retry added a timeout, and a
`Retry-After` was waited for up to two minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import cast

import pytest

from queries.answerers import Answer, AnswerEvent, Source
from queries.answerers.openai import OpenAIAnswerer
from tests.faults.fake_llm import FakeProvider

SOURCES = [
    Source(1, 1, "handbook.txt", None, "", "Everyone gets 25 days of paid holiday a year. More."),
    Source(2, 1, "handbook.txt", None, "", "The notice period is three months."),
]
QUESTION = "How many days of paid holiday?"
TIMEOUT = 1.0
MARGIN = 0.3  # the extractive fallback, and threads on a busy machine


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider(slow_seconds=4.0, stall_at=0.6 * TIMEOUT)
    fake.start()
    yield fake
    fake.stop()


def answerer(provider: FakeProvider, **options: object) -> OpenAIAnswerer:
    options = {"timeout": TIMEOUT, "max_retries": 2, "max_tokens": 1024, **options}
    return OpenAIAnswerer(base_url=provider.url, api_key="k", **options)  # type: ignore[arg-type]


def timed_answer(answerer: OpenAIAnswerer) -> tuple[Answer, float]:
    began = time.monotonic()
    return answerer.answer(QUESTION, SOURCES), time.monotonic() - began


def timed_stream(answerer: OpenAIAnswerer) -> tuple[Answer, list[str], float]:
    began = time.monotonic()
    events = list(answerer.stream(QUESTION, SOURCES))
    deltas = [payload for kind, payload in events if kind == "delta"]
    final = events[-1][1]
    assert isinstance(final, Answer)
    return final, [str(delta) for delta in deltas], time.monotonic() - began


def assert_fallback(answer: Answer) -> None:
    assert (answer.degraded, answer.backend) == (True, "extractive")
    assert "25 days of paid holiday" in answer.text


@pytest.mark.parametrize("mode", ["slow", "stalled"])
def test_a_slow_provider_is_given_up_at_the_timeout_retries_included(
    provider: FakeProvider, mode: str
) -> None:
    """`slow`: the reply would come after 4 s (before, three tries of 1 s and two waits
    took 4.5 s); `stalled`: the reply stops 0.6 s in, while the client's next read has its
    whole timeout before it (before, that read waited until 1.6 s)."""
    provider.mode = mode
    answer, took = timed_answer(answerer(provider))

    print(f"\n{mode}: fell back after {took:.2f} s (timeout {TIMEOUT} s)")
    assert_fallback(answer)
    assert TIMEOUT - 0.05 <= took < TIMEOUT + MARGIN
    assert provider.received[mode] == 1  # no time was left to try again


@pytest.mark.parametrize("mode", ["slow", "stalled"])
def test_a_stream_too_slow_to_finish_ends_at_the_timeout_with_the_fallback(
    provider: FakeProvider, mode: str
) -> None:
    """`slow` keeps sending a word every 0.2 s for 4 s: no read ever times out, so before,
    the stream went on for as long as the provider did."""
    provider.mode = mode
    final, deltas, took = timed_stream(answerer(provider))

    print(f"\nstreamed, {mode}: fell back after {took:.2f} s, {len(deltas) - 1} words shown")
    assert_fallback(final)
    assert deltas  # the provider's first words were shown; the final text replaces them
    assert TIMEOUT - 0.05 <= took < TIMEOUT + MARGIN


def test_a_retry_after_longer_than_the_timeout_is_not_waited_for(provider: FakeProvider) -> None:
    provider.mode, provider.retry_after = "overloaded", 30
    answer, took = timed_answer(answerer(provider))
    final, _deltas, streamed = timed_stream(answerer(provider))

    assert_fallback(answer)
    assert_fallback(final)
    assert max(took, streamed) < 0.5  # before: two waits of 30 s
    assert provider.received["overloaded"] == 2  # one try each, no retry


def test_a_retry_after_within_the_timeout_is_waited_for(provider: FakeProvider) -> None:
    provider.mode, provider.retry_after = "overloaded", 0.2
    answer, took = timed_answer(answerer(provider))

    assert_fallback(answer)
    assert provider.received["overloaded"] == 3  # the first try and both retries
    assert 0.4 <= took < TIMEOUT


def test_a_provider_back_before_the_timeout_answers_on_a_retry(provider: FakeProvider) -> None:
    provider.mode, provider.retry_after = "overloaded", 0.3
    recovery = threading.Timer(0.1, setattr, (provider, "mode", "healthy"))
    began = time.monotonic()
    recovery.start()
    answer = answerer(provider).answer(QUESTION, SOURCES)

    assert (answer.degraded, answer.backend) == (False, "openai")
    assert time.monotonic() - began < TIMEOUT


def test_an_oversized_reply_is_not_read_to_its_end(
    provider: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """A 2 MB JSON reply to a 64-token answer: reading stops past 12 bytes a character the
    answer may have (70 KB), instead of taking the whole body into memory first."""
    provider.mode = "oversized"
    with caplog.at_level(logging.WARNING, logger="queries.answerers.openai"):
        answer, took = timed_answer(answerer(provider, max_tokens=64))

    assert_fallback(answer)
    assert "ReplyTooLarge: The reply ran past 71,680 bytes" in caplog.text
    assert took < TIMEOUT


def test_questions_past_the_concurrency_limit_get_the_fallback_at_once(
    provider: FakeProvider,
) -> None:
    provider.mode = "slow"
    limited = answerer(provider, max_concurrent=2)
    with ThreadPoolExecutor(4) as pool:
        answered = list(pool.map(lambda _: timed_answer(limited), range(4)))

    took = sorted(seconds for _answer, seconds in answered)
    for answer, _seconds in answered:
        assert_fallback(answer)
    assert took[1] < 0.3  # two were not sent to the provider at all
    assert took[2] >= TIMEOUT - 0.05
    assert provider.received["slow"] == 2
    provider.mode = "healthy"  # every slot was given back
    assert [limited.answer(QUESTION, SOURCES).degraded for _ in range(2)] == [False, False]


def test_a_stream_gives_its_slot_back_when_it_is_closed_early(provider: FakeProvider) -> None:
    provider.mode = "slow"
    limited = answerer(provider, max_concurrent=1)
    events = cast(Generator[AnswerEvent, None, None], limited.stream(QUESTION, SOURCES))
    assert next(events)[0] == "delta"  # the provider's first word: the slot is taken

    assert_fallback(timed_answer(limited)[0])
    events.close()  # the client went away
    provider.mode = "healthy"
    assert limited.answer(QUESTION, SOURCES).degraded is False
