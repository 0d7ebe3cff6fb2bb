"""Citation markers in generated answers: validate them, stream them, build citations.

A model can cite a source that does not exist ("[7]" with two sources) or use
list forms ("[1, 2]"). Cleaning keeps only markers 1..len(sources), rewrites
lists as "[1][2]" and removes invalid markers together with the space before
them. The streaming cleaner applies the same rule incrementally by holding
back only a possible unfinished marker, so the streamed deltas concatenate
exactly to the cleaned final text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from queries.answerers.base import NO_ANSWER_TEXT, Citation, Source
from queries.answerers.sanitize import strip_invisible
from queries.answerers.sentences import TermWeights, coverage, shorten, split_sentences, terms

# What the system prompt tells the model to say when the sources lack the answer.
MODEL_NOT_FOUND = "Not found in your documents."

# The inner class and bound must match _HOLDBACK so no marker can straddle a held-back cut.
_MAX_MARKER_INNER = 24
_MARKER = re.compile(rf"\s*\[([\d,\s]{{1,{_MAX_MARKER_INNER}}})\]")
_MARKER_INNER = re.compile(r"\s*\d+(?:\s*,\s*\d+)*\s*")
_HOLDBACK = re.compile(rf"(?:\s*\[[\d,\s]{{0,{_MAX_MARKER_INNER}}}|\s+)$")
_SINGLE_MARKER = re.compile(r"\[(\d+)\]")
QUOTE_CHARS = 300


def clean_markers(text: str, source_count: int) -> str:
    """Keep markers that name a real source; drop the rest. Does not strip the ends."""

    def replace(match: re.Match[str]) -> str:
        whole, inner = match.group(0), match.group(1)
        if not _MARKER_INNER.fullmatch(inner):
            return whole  # "[ , ]" or similar: not a citation, leave the text alone
        numbers = dict.fromkeys(int(n) for n in re.findall(r"\d+", inner))
        valid = [n for n in numbers if 1 <= n <= source_count]
        if not valid:
            return ""
        leading_space = whole[: len(whole) - len(whole.lstrip())]
        return leading_space + "".join(f"[{n}]" for n in valid)

    return _MARKER.sub(replace, text)


def finalize_text(cleaned: str) -> str:
    """The model's "not found" reply becomes the wording every backend uses."""
    return NO_ANSWER_TEXT if _is_not_found(cleaned) else cleaned


def _normalise(text: str) -> str:
    return " ".join(text.lower().split())


def _is_not_found(text: str) -> bool:
    return _normalise(text).rstrip(".") == _normalise(MODEL_NOT_FOUND).rstrip(".")


class StreamCleaner:
    """Incremental clean_markers + strip + finalize_text for streamed deltas.

    feed() returns the text that is safe to show now; finish() returns the rest.
    Held back: trailing whitespace and an unfinished "[12" (until it closes or
    cannot be a marker), and, before anything is shown, text that may still turn
    out to be the model's "not found" sentence.
    """

    def __init__(self, source_count: int) -> None:
        self._source_count = source_count
        self._raw = ""  # not yet cleaned; at most a possible marker and spaces
        self._cleaned = ""  # cleaned but not yet shown
        self._started = False

    def feed(self, delta: str) -> str:
        self._raw += delta
        match = _HOLDBACK.search(self._raw)
        cut = match.start() if match else len(self._raw)
        self._cleaned += clean_markers(self._raw[:cut], self._source_count)
        self._raw = self._raw[cut:]
        return self._release(final=False)

    def finish(self) -> str:
        self._cleaned += clean_markers(self._raw, self._source_count)
        self._raw = ""
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        text = self._cleaned
        if not self._started:
            text = text.lstrip()
            if not final and _normalise(MODEL_NOT_FOUND).startswith(_normalise(text)):
                self._cleaned = text
                return ""
            if final:
                text = finalize_text(text.rstrip())
        elif final:
            text = text.rstrip()
        self._cleaned = ""
        if text:
            self._started = True
        return text


def build_citations(answer_text: str, sources: Sequence[Source]) -> list[Citation]:
    """One citation per distinct valid marker, in order of first appearance."""
    citations: dict[int, Citation] = {}
    sentences = split_sentences(answer_text)
    for index, sentence in enumerate(sentences):
        for match in _SINGLE_MARKER.finditer(sentence):
            number = int(match.group(1))
            if number in citations or not 1 <= number <= len(sources):
                continue
            context = _SINGLE_MARKER.sub(" ", sentence[: match.start()])
            # "Paris is the capital. [1]" splits with the marker opening the next sentence.
            if not terms(context) and index > 0:
                context = sentences[index - 1]
            source = sources[number - 1]
            citations[number] = Citation(
                marker=number,
                chunk_id=source.chunk_id,
                document_id=source.document_id,
                document_name=source.document_name,
                page=source.page,
                quote=best_quote(context, source.text),
                section=source.section,
            )
    return list(citations.values())


def best_quote(claim: str, source_text: str, limit: int = QUOTE_CHARS) -> str:
    """The source sentence that best supports `claim`, else the start of the source."""
    text = strip_invisible(source_text)
    claim_terms = terms(claim)
    candidates = [(sentence, terms(sentence)) for sentence in split_sentences(text)]
    weights = TermWeights.from_pool(sentence_terms for _, sentence_terms in candidates)
    best_sentence, best_score = "", 0.0
    for sentence, sentence_terms in candidates:
        score = coverage(claim_terms, sentence_terms, weights)
        if score > best_score:  # strict: the earliest sentence wins a tie
            best_sentence, best_score = sentence, score
    return shorten(best_sentence or text, limit)
