"""Citations checked against their sources: is each cited sentence in the passage it cites?

A claim is a sentence of the answer that carries markers ("[2]"). Against each passage it
cites, it is `supported` when at least SUPPORTED_SHARE of its content terms (stopwords
dropped, lightly stemmed, as the answerers match words) and every number it states are in
the passage; `partial` when at least PARTIAL_SHARE of its terms are (or all its words but
not all its numbers); else `unsupported`. The passage is read with the text just before and
after it, so a sentence finished across a chunk's edge counts as supported.

A citation's support is the weakest over the claims citing it; the answer's
`supported_share` is the share of its claims supported by some passage they cite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from queries.answerers.base import Answer, Source
from queries.answerers.sentences import split_sentences, terms

SUPPORTED = "supported"
PARTIAL = "partial"
UNSUPPORTED = "unsupported"
_RANK = {SUPPORTED: 2, PARTIAL: 1, UNSUPPORTED: 0}
SUPPORTED_SHARE = 0.8
PARTIAL_SHARE = 0.5
_MARKER = re.compile(r"\s*\[(\d+)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Claim:
    """A cited sentence: where it is in the answer text, its markers and how well the
    passages it cites support it (the best of them)."""

    start: int
    end: int
    markers: tuple[int, ...]
    support: str
    by_marker: tuple[tuple[int, str], ...] = ()


def level(claim: str, passage: str) -> str:
    """How well `passage` supports the sentence `claim` (markers already removed)."""
    claim_terms = set(terms(claim))
    if not claim_terms:
        return SUPPORTED  # nothing to check ("See [1].")
    passage_terms = set(terms(passage))
    share = len(claim_terms & passage_terms) / len(claim_terms)
    passage_numbers = {_plain(n) for n in _NUMBER.findall(passage)}
    numbers_found = all(_plain(n) in passage_numbers for n in _NUMBER.findall(claim))
    if share >= SUPPORTED_SHARE and numbers_found:
        return SUPPORTED
    if share >= PARTIAL_SHARE:
        return PARTIAL
    return UNSUPPORTED


def _plain(number: str) -> str:
    return number.replace(",", "").rstrip(".")


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Each sentence of `text` with its offsets (sentences are found in order)."""
    spans, cursor = [], 0
    for sentence in split_sentences(text):
        head = sentence.split()[0]
        start = text.find(head, cursor)
        if start < 0:
            continue
        end = start
        for word in sentence.split():
            found = text.find(word, end)
            if found < 0:
                break
            end = found + len(word)
        spans.append((start, end, text[start:end]))
        cursor = end
    return spans


def claims(
    text: str, sources: Sequence[Source], cited: dict[int, Source] | None = None
) -> list[Claim]:
    """The cited sentences of `text`. Marker n names `cited[n]` when given (an answerer that
    numbers its markers by first use says which source each is), else `sources[n - 1]`."""
    cited = cited if cited is not None else dict(enumerate(sources, start=1))
    found: list[Claim] = []
    previous = ""
    for start, end, sentence in _spans(text):
        markers = tuple(dict.fromkeys(int(m) for m in _MARKER.findall(sentence)))
        said = _MARKER.sub(" ", sentence)
        if not markers:
            previous = said
            continue
        if not terms(said) and previous:
            said = previous  # "Paris is the capital. [1]": the marker closes the sentence before
        levels = tuple(
            (marker, level(said, _passage(cited[marker]))) for marker in markers if marker in cited
        )
        best = max((lv for _, lv in levels), key=_RANK.__getitem__, default=UNSUPPORTED)
        found.append(Claim(start, end, markers, best, levels))
        previous = said
    return found


def _passage(source: Source) -> str:
    return f"{source.before}{source.text}{source.after}"


def verify(answer: Answer, sources: Sequence[Source]) -> Answer:
    """The answer with each citation's support and the answer's claims filled in."""
    by_chunk = {source.chunk_id: source for source in sources}
    cited = {c.marker: by_chunk[c.chunk_id] for c in answer.citations if c.chunk_id in by_chunk}
    found = claims(answer.text, sources, cited)
    weakest: dict[int, str] = {}
    for claim in found:
        for marker, lv in claim.by_marker:
            if marker not in weakest or _RANK[lv] < _RANK[weakest[marker]]:
                weakest[marker] = lv
    answer.citations = [
        replace(c, support=weakest.get(c.marker, SUPPORTED)) for c in answer.citations
    ]
    answer.claims = found
    return answer


def supported_share(found: Sequence[Claim]) -> float | None:
    if not found:
        return None
    return round(sum(claim.support == SUPPORTED for claim in found) / len(found), 3)


def drop_unsupported_markers(text: str, found: Sequence[Claim]) -> str:
    """The text without the markers that point at a passage not supporting their sentence."""
    pieces, cursor = [], 0
    for claim in found:
        bad = {marker for marker, lv in claim.by_marker if lv == UNSUPPORTED}
        if not bad:
            continue
        start = claim.start
        while start > cursor and text[start - 1].isspace():
            start -= 1  # "… else. [2]": the space before a lone marker goes with it
        segment = text[start : claim.end]

        def keep(match: re.Match[str], bad: set[int] = bad) -> str:
            return "" if int(match.group(1)) in bad else match.group(0)

        cleaned = _MARKER.sub(keep, segment)
        pieces += [text[cursor:start], cleaned]
        cursor = claim.end
    return ("".join(pieces) + text[cursor:]).strip()
