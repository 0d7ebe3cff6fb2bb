"""Reading chunks' tsvectors into arrays: the words and adjacent pairs BM25 weighs.

`Gathered` keeps every word occurrence (row, column, tf) and adjacent pair (column, key) of
the chunks read so far as numpy arrays appended one batch of chunks at a time: 12 and 12
bytes per entry, where Python lists of them (and of each word's position text) held about
45 KB per chunk, 45 GB for a million chunks. A batch holds whole chunks, so its pairs are
complete. Both the full build (search/bm25.py) and appending new chunks to a stored matrix
(search/bm25_append.py) read through `read_batch`.
"""

from __future__ import annotations

import re

import numpy as np

from search import phrases

SECTION_BOOST = 2  # tf contribution of a lexeme occurrence in the section (weight A)
# One lexeme of a tsvector's text form: 'word':1,5A,9 (quotes inside doubled). The quoted
# part is written as an unrolled loop, which the regex engine runs faster than (?:[^']|'')*.
_NOT_DIGIT = re.compile(r"[^0-9]+")
_LEXEME = re.compile(r"'([^']*(?:''[^']*)*)'(?::([0-9A-D,]+))?")


def parse_tsvector(tsvector_text: str) -> list[tuple[str, int]]:
    """(lexeme, term frequency) pairs of one tsvector's text form."""
    pairs = []
    for lexeme, positions in _LEXEME.findall(tsvector_text):
        pairs.append((lexeme.replace("''", "'"), term_frequency(positions)))
    return pairs


def term_frequency(positions: str) -> int:
    """A lexeme's tf from its position list ('1,5A,9'); section words (A) count double."""
    if not positions:
        return 1  # tsvectors built without positions still say the word occurs
    return positions.count(",") + 1 + (SECTION_BOOST - 1) * positions.count("A")


def read_batch(
    texts: list[str | None], first_column: int, terms: dict[str, int], gathered: Gathered
) -> None:
    """Parse one batch of tsvector texts (columns first_column, first_column + 1, ...) into
    `gathered`; lexemes missing from `terms` get the next rows."""
    rows: list[int] = []
    cols: list[int] = []
    tfs: list[int] = []
    occurrences = Occurrences()  # every word's positions, for the pairs
    for offset, text in enumerate(texts):
        column = first_column + offset
        for lexeme, positions in _LEXEME.findall(text or ""):
            row = terms.setdefault(lexeme.replace("''", "'"), len(terms))
            rows.append(row)
            cols.append(column)
            tfs.append(term_frequency(positions))
            occurrences.add(column, row, positions)
    gathered.add(rows, cols, tfs, occurrences)


class Gathered:
    """Word occurrences and adjacent pairs of the chunks read so far, as arrays."""

    def __init__(self) -> None:
        self._words: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, rows: list[int], cols: list[int], tfs: list[int], found: Occurrences) -> None:
        self._words.append(
            (
                np.asarray(rows, dtype=np.int32),
                np.asarray(cols, dtype=np.int32),
                np.asarray(tfs, dtype=np.float32),
            )
        )
        columns, keys = found.pairs()
        self._pairs.append((columns.astype(np.int32), keys))

    def words(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, columns, tfs) of every word occurrence; forgets them."""
        parts, self._words = self._words, []
        if not parts:
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty, np.zeros(0, dtype=np.float32)
        return tuple(np.concatenate(column) for column in zip(*parts, strict=True))  # type: ignore[return-value]

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(column, pair key) of every adjacent pair (search/phrases.py); forgets them."""
        parts, self._pairs = self._pairs, []
        if not parts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint64)
        return np.concatenate([c for c, _ in parts]), np.concatenate([k for _, k in parts])


class Occurrences:
    """(column, position, row) of every word occurrence, gathered while the tsvectors are read."""

    def __init__(self) -> None:
        self.columns: list[int] = []
        self.rows: list[int] = []
        self.positions: list[str] = []  # each lexeme's position list, as the tsvector writes it

    def add(self, column: int, row: int, positions: str) -> None:
        if positions:  # a tsvector without positions has no pairs
            self.columns.append(column)
            self.rows.append(row)
            self.positions.append(positions)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(column, pair key) of every adjacent pair (search/phrases.py)."""
        per_lexeme = np.fromiter(
            (text.count(",") + 1 for text in self.positions), dtype=np.int64, count=len(self.rows)
        )
        # "1,5A,9" -> 1 5 9: weight letters and commas read as separators.
        joined = _NOT_DIGIT.sub(" ", " ".join(self.positions))
        positions = np.array(joined.split(), dtype=np.int64)
        columns = np.repeat(np.asarray(self.columns, dtype=np.int64), per_lexeme)
        rows = np.repeat(np.asarray(self.rows, dtype=np.int64), per_lexeme)
        return phrases.chunk_pairs(columns, positions, rows)
