"""Cleaner text from PDF pages: running headers and footers dropped, words hyphenated across
line ends joined, and the PDF's outline (its bookmarks) turned into section paths.

Running headers and footers are lines at a page's top or bottom edge that recur at the edge
of other pages once digits are ignored ("Chapter 4: Function reference 20", "Page 3 of 9",
a bare page number). Answers used to quote them as if they were part of the text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from documents.extractors.base import TextBlock

EDGE_LINES = 2  # lines at each end of a page that may be a running header or footer
MIN_PAGES = 3  # shorter documents have nothing to compare
MIN_REPEATS = 2  # pages a line must recur on (a chapter's running head spans its pages)
MAX_RUNNING_CHARS = 80  # running heads are short; a full line of body text is not one
_DIGITS = re.compile(r"\d+")
_ROMAN_PAGE = re.compile(r"^[ivxlcdm]+$")
# A soft hyphen (PDFium reports U+FFFE or U+00AD) or a hyphen at a line end, between letters.
_SOFT_BREAK = re.compile(r"(?<=[^\W\d_])[\u00ad\ufffe]\n?(?=[^\W\d_])")
_HARD_BREAK = re.compile(r"(?<=[a-zà-ÿ])-\n(?=[a-zà-ÿ])")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark of the PDF: its depth (0 = top), title and 1-based page."""

    level: int
    title: str
    page: int


def _edge_key(line: str) -> str:
    """The line with digits masked (page numbers change), or "" when too long to be a head."""
    if len(line.strip()) > MAX_RUNNING_CHARS:
        return ""
    key = _DIGITS.sub("#", _SPACES.sub(" ", line.strip().lower()))
    return "#" if _ROMAN_PAGE.match(key) else key


def _edge_lines(lines: list[str]) -> list[tuple[str, int, int]]:
    """(side, depth, index) of the lines at a page's top ("t") and bottom ("b") edges."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    top = [("t", depth, i) for depth, i in enumerate(filled[:EDGE_LINES])]
    bottom = [("b", depth, i) for depth, i in enumerate(reversed(filled[-EDGE_LINES:]))]
    return top + bottom


def running_lines(pages: Sequence[str]) -> set[tuple[str, int, str]]:
    """(side, depth, key) of lines that recur at the same place on at least MIN_REPEATS pages."""
    if len(pages) < MIN_PAGES:
        return set()
    seen: Counter[tuple[str, int, str]] = Counter()
    for text in pages:
        lines = text.split("\n")
        seen.update({(side, depth, _edge_key(lines[i])) for side, depth, i in _edge_lines(lines)})
    return {place for place, count in seen.items() if count >= MIN_REPEATS and place[2]}


def drop_running_lines(text: str, running: set[tuple[str, int, str]]) -> tuple[str, int]:
    """The page without its running header and footer lines, and how many were dropped.
    From each edge inwards: a line goes only while every line outside it went too."""
    lines = text.split("\n")
    drop: set[int] = set()
    stopped: set[str] = set()
    for side, depth, index in _edge_lines(lines):
        if side in stopped or (side, depth, _edge_key(lines[index])) not in running:
            stopped.add(side)
            continue
        drop.add(index)
    kept = [line for i, line in enumerate(lines) if i not in drop]
    if not any(line.strip() for line in kept):
        return text, 0  # a page of nothing but "running" lines is content after all
    return "\n".join(kept).strip(), len(drop)


def join_hyphenated(text: str) -> str:
    """'manip-\\nulation' → 'manipulation': soft hyphens always, a plain hyphen at a line end
    when lower-case letters stand on both sides (a compound split there loses its hyphen)."""
    return _HARD_BREAK.sub("", _SOFT_BREAK.sub("", text))


def _section_path(stack: list[OutlineEntry]) -> str:
    return " > ".join(entry.title for entry in stack)


def _heading_line(lines: list[str], title: str, start: int) -> int | None:
    """The line (from `start`) that is the bookmark's heading: the title, maybe numbered."""
    wanted = _SPACES.sub(" ", title.strip().lower())
    for index in range(start, len(lines)):
        line = _SPACES.sub(" ", lines[index].strip().lower())
        if line and (line == wanted or (line.endswith(wanted) and len(line) - len(wanted) <= 8)):
            return index
    return None


def sectioned_blocks(
    page: int, text: str, outline: Sequence[OutlineEntry], stack: list[OutlineEntry]
) -> list[TextBlock]:
    """The page's text as blocks, split where a bookmark's heading starts, each with the
    section path in force; `stack` (the open bookmarks) is carried from page to page."""
    lines = text.split("\n")
    blocks: list[TextBlock] = []
    start = 0
    for entry in (e for e in outline if e.page == page):
        at = _heading_line(lines, entry.title, start)
        cut = at if at is not None else start
        piece = "\n".join(lines[start:cut]).strip()
        if piece:
            blocks.append(TextBlock(text=piece, page=page, section=_section_path(stack)))
        while stack and stack[-1].level >= entry.level:
            stack.pop()
        stack.append(entry)
        start = cut
    rest = "\n".join(lines[start:]).strip()
    if rest:
        blocks.append(TextBlock(text=rest, page=page, section=_section_path(stack)))
    return blocks
