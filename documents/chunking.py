"""Split extracted text blocks into overlapping, token-sized chunks with citations.

Offsets. The *document text* is ``document_text(blocks)`` == ``"\\n\\n".join(b.text for b in
blocks)``, exactly, with no other normalisation. Every chunk satisfies
``document_text(blocks)[c.char_start:c.char_end] == c.text``.

Tokens. ``TOKEN_PATTERN`` counts as one token: a run of up to 20 word characters, one
punctuation character, or one CJK character. For English prose that is close to one
token per word plus punctuation, a little under what BPE/WordPiece tokenizers count
(not measured here: none is installed), which is all a chunk budget needs; the
20-character cap keeps base64 blobs and URLs from counting as one token.

Rules.
- Consecutive blocks with the same (page, section) form one *segment*; a chunk never
  leaves its segment, so each chunk has exactly one page and one section.
- Within a segment, a chunk takes up to ``target_tokens`` tokens and ends at the last
  paragraph break in its second half, else the last line break, else the last
  sentence end, else the last whitespace: never inside a word. Only a whitespace-free
  run longer than half a chunk (a blob, or CJK text) is cut, at a token boundary.
- The next chunk starts about ``overlap_ratio * target_tokens`` tokens before the
  previous end, at a paragraph start inside that window if there is one; a chunk that
  ended at a paragraph break without one is followed without overlap; else at a sentence
  start, else at a word start. (Spreadsheet and CSV rows are paragraphs, so chunks hold
  whole rows.)
- Chunks have no leading or trailing whitespace; ordinals count from 0.
Pure Python, deterministic, no Django.

Cost. Linear in the text: each chunk tokenises only its own window (about
``target_tokens * (1 + overlap_ratio)`` tokens, restarting at a token start gives the same
tokens), and every boundary search scans that window once. Memory is bounded by one window,
not by the document (a 50 MB file of punctuation is 50 million tokens).
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

from documents.extractors.base import TextBlock

__all__ = [
    "BLOCK_SEPARATOR",
    "TOKEN_PATTERN",
    "ChunkDraft",
    "ChunkingTimeout",
    "chunk_blocks",
    "count_tokens",
    "document_text",
]

BLOCK_SEPARATOR = "\n\n"
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
TOKEN_PATTERN = re.compile(rf"[{_CJK_CHARS}]|[^\W{_CJK_CHARS}]{{1,20}}|[^\w\s]")
_CJK = re.compile(f"[{_CJK_CHARS}]")
_SENTENCE_END = re.compile(
    r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s)|[\u3002\uff01\uff1f][\"'\u201d\u2019)\]]*"
)
_WHITESPACE = re.compile(r"\s")


class ChunkingTimeout(Exception):
    """Chunking went past its deadline (see ``chunk_blocks``)."""


@dataclass(frozen=True)
class ChunkDraft:
    ordinal: int
    text: str
    page: int | None
    section: str
    char_start: int  # offset into document_text(blocks)
    char_end: int  # exclusive
    token_count: int


def count_tokens(text: str) -> int:
    return sum(1 for _ in TOKEN_PATTERN.finditer(text))


def document_text(blocks: list[TextBlock]) -> str:
    return BLOCK_SEPARATOR.join(block.text for block in blocks)


def chunk_blocks(
    blocks: list[TextBlock],
    *,
    target_tokens: int = 400,
    overlap_ratio: float = 0.15,
    deadline: float | None = None,
) -> list[ChunkDraft]:
    """Chunk ``blocks`` (see the module docstring for the exact rules).

    ``deadline`` (a ``time.monotonic()`` value) raises ChunkingTimeout once passed.
    """
    if target_tokens < 1:
        raise ValueError("target_tokens must be at least 1")
    if not 0 <= overlap_ratio < 0.5:
        raise ValueError("overlap_ratio must be in [0, 0.5)")
    overlap = round(target_tokens * overlap_ratio)
    chunks: list[ChunkDraft] = []
    for text, base, page, section in _segments(blocks):
        for start, end, tokens in _split(text, target_tokens, overlap):
            if deadline is not None and len(chunks) % 64 == 0 and time.monotonic() > deadline:
                raise ChunkingTimeout(f"chunking stopped after {len(chunks)} chunks")
            chunks.append(
                ChunkDraft(
                    ordinal=len(chunks),
                    text=text[start:end],
                    page=page,
                    section=section,
                    char_start=base + start,
                    char_end=base + end,
                    token_count=tokens,
                )
            )
    return chunks


def _segments(blocks: list[TextBlock]) -> Iterator[tuple[str, int, int | None, str]]:
    """(text, offset, page, section) for each run of blocks sharing page and section."""
    offset = 0
    run: list[str] = []
    run_start = 0
    key: tuple[int | None, str] | None = None
    for block in blocks:
        if (block.page, block.section) != key:
            if run and key is not None:
                yield BLOCK_SEPARATOR.join(run), run_start, key[0], key[1]
            run, run_start, key = [], offset, (block.page, block.section)
        run.append(block.text)
        offset += len(block.text) + len(BLOCK_SEPARATOR)
    if run and key is not None:
        yield BLOCK_SEPARATOR.join(run), run_start, key[0], key[1]


def _split(text: str, target: int, overlap: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, token_count) of each chunk of one segment, offsets into ``text``."""
    position = 0  # where the chunk's first token starts
    while True:
        starts, ends = _window(text, position, target + 1)
        if not starts:
            return
        fits = len(starts) <= target  # the rest of the segment fits in this chunk
        last = min(target, len(starts)) - 1  # the last token that fits
        end = ends[last] if fits else _best_break(text, ends[last // 2], ends[last])
        start, end = _trim(text, starts[0], end)
        after = bisect_left(starts, end)  # first token not in this chunk
        yield start, end, after
        if fits and after >= len(starts):
            return
        position = starts[_next_start(text, starts, 0, after, overlap)]


def _window(text: str, position: int, count: int) -> tuple[list[int], list[int]]:
    """Starts and ends of up to ``count`` tokens from ``position`` (a token start)."""
    starts: list[int] = []
    ends: list[int] = []
    for match in TOKEN_PATTERN.finditer(text, position):
        starts.append(match.start())
        ends.append(match.end())
        if len(starts) == count:
            break
    return starts, ends


def _best_break(text: str, floor: int, ceiling: int) -> int:
    """An end offset in [floor, ceiling] at the strongest boundary available."""
    for separator in ("\n\n", "\n"):
        at = text.rfind(separator, floor, ceiling)
        if at != -1:
            return at
    sentence_end = -1
    for match in _SENTENCE_END.finditer(text, floor, min(ceiling + 1, len(text))):
        if match.end() <= ceiling:
            sentence_end = match.end()
    if sentence_end != -1:
        return sentence_end
    # The last whitespace: the first one in the reversed range (a linear scan).
    space = _WHITESPACE.search(text[floor:ceiling][::-1])
    # No whitespace in the second half means one huge run: cut it at a token boundary.
    return ceiling - 1 - space.start() if space is not None else ceiling


def _next_start(text: str, starts: list[int], first: int, after: int, overlap: int) -> int:
    """Token index where the next chunk begins: ``overlap`` tokens back, at a clean start."""
    candidate = max(after - overlap, first + 1)
    if candidate >= after:
        return after
    # A paragraph start is the cleanest: a table row (CSV, XLSX) is one paragraph, so the
    # overlap repeats whole rows instead of starting mid-row.
    paragraph = text.find("\n\n", starts[candidate] - 1, starts[after - 1])
    if paragraph != -1:
        return bisect_left(starts, paragraph + 2)
    if after < len(starts) and "\n\n" in text[starts[after - 1] : starts[after]]:
        return after  # it ended at a paragraph break: no overlap rather than half a paragraph
    sentence = _SENTENCE_END.search(text, starts[candidate], starts[after - 1])
    if sentence is not None:
        return bisect_left(starts, sentence.end())
    # Step back to the word's first token (bounded, for text without spaces such as CJK).
    for index in range(candidate, max(candidate - overlap, first + 1) - 1, -1):
        if text[starts[index] - 1].isspace() or _CJK.match(text, starts[index]):
            return index
    return candidate


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
