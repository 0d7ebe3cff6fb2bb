"""A client that keeps asking the platform while a test breaks something underneath it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tests.faults.platform import Answer

# No request may take longer than this, whatever is down (docs/reliability.md).
REQUEST_BOUND_SECONDS = 5.0


@dataclass
class Sample:
    at: float  # time.monotonic() when the request was sent
    what: str
    answer: Answer


@dataclass
class Client:
    """Runs each of `requests` in turn, in a thread, until stopped; keeps every answer."""

    requests: dict[str, Callable[[], Answer]]
    pause: float = 0.05
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Client:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.is_set():
            for what, send in self.requests.items():
                began = time.monotonic()
                self.samples.append(Sample(began, what, send()))
                time.sleep(self.pause)

    def between(self, start: float, end: float) -> list[Sample]:
        return [sample for sample in self.samples if start <= sample.at < end]

    def first_ok_after(self, moment: float, timeout: float = 60) -> float:
        """Seconds from `moment` until every kind of request has answered 200 again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recovered = {s.what for s in self.samples if s.at >= moment and s.answer.status == 200}
            if recovered >= set(self.requests):
                return max(
                    min(s.at + s.answer.seconds for s in self.samples
                        if s.at >= moment and s.what == what and s.answer.status == 200)
                    for what in self.requests
                ) - moment  # fmt: skip
            time.sleep(0.1)
        raise AssertionError(f"not every request answered 200 within {timeout} s of recovery")


def refusal_problems(samples: list[Sample]) -> list[str]:
    """What is wrong with the answers that were not 200: anything but a prompt 503 sentence."""
    problems = []
    for sample in samples:
        answer = sample.answer
        if answer.seconds > REQUEST_BOUND_SECONDS:
            problems.append(f"{sample.what} took {answer.seconds:.1f} s ({answer.status})")
        if answer.status == 200:
            continue
        if answer.status != 503:
            problems.append(f"{sample.what}: {answer.status} {answer.body[:200]!r}")
            continue
        if not answer.headers.get("Retry-After", "").isdigit():
            problems.append(f"{sample.what}: 503 without a Retry-After header")
        try:
            message = answer.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            problems.append(f"{sample.what}: 503 without a JSON error: {answer.body[:200]!r}")
            continue
        if not (message[:1].isupper() and message.endswith(".")):
            problems.append(f"{sample.what}: 503 message is not a sentence: {message!r}")
    return problems
