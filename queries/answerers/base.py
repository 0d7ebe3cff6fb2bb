"""Types shared by every answer backend.

Answerers are plain Python: they take the question and the already-retrieved
sources and never touch Django, the database or settings, so the query service
can pass configuration in and tests can run them without a project.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

# One sentence for every backend, so clients can show the same message whoever answered.
NO_ANSWER_TEXT = "I couldn't find an answer to that in your documents."


@dataclass(frozen=True)
class Source:
    """One retrieved chunk handed to an answerer, in retrieval rank order."""

    chunk_id: int
    document_id: int
    document_name: str
    page: int | None
    section: str
    text: str
    # The document's text just before and after the chunk (empty at its ends, or when the
    # caller did not read it): lets an answerer finish a sentence cut at the chunk's edge.
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Citation:
    """Where a marker such as "[2]" in the answer text points."""

    marker: int
    chunk_id: int
    document_id: int
    document_name: str
    page: int | None
    quote: str
    section: str = ""  # the passage's heading path ("Guide > Install"), "" when it has none
    # Whether the passage supports the sentences citing it (queries/answerers/support.py):
    # "supported", "partial" or "unsupported"; "" until checked.
    support: str = ""


@dataclass
class Answer:
    """An answer and its citations.

    `degraded` is True when the requested backend failed and another one
    (the offline extractive answerer) produced this answer instead.
    `usage` holds prompt_tokens, completion_tokens and total_tokens when the
    backend reports them.
    """

    text: str
    citations: list[Citation]
    backend: str
    degraded: bool = False
    usage: dict[str, int] | None = None
    # The cited sentences and their support (support.Claim), filled in by support.verify.
    claims: list[Any] = field(default_factory=list)


DeltaEvent: TypeAlias = tuple[Literal["delta"], str]
DoneEvent: TypeAlias = tuple[Literal["done"], Answer]
# A stream is zero or more ("delta", text) events and then exactly one ("done", Answer).
AnswerEvent: TypeAlias = DeltaEvent | DoneEvent


@runtime_checkable
class Answerer(Protocol):
    """What the query service needs from an answer backend.

    `stream()` yields ("delta", text) pieces of the answer and ends with
    ("done", Answer). The final Answer is authoritative: its text is what
    should be stored and shown once the stream ends.
    """

    name: str

    def answer(self, question: str, sources: Sequence[Source]) -> Answer: ...

    def stream(self, question: str, sources: Sequence[Source]) -> Iterator[AnswerEvent]: ...


def no_answer(backend: str, *, degraded: bool = False) -> Answer:
    """The answer every backend gives when the sources do not contain one."""
    return Answer(text=NO_ANSWER_TEXT, citations=[], backend=backend, degraded=degraded)
