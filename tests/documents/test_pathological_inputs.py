"""Inputs built to make text processing slow stay linear: a time bound per megabyte.

Each case was quadratic once: a 5 MB file of one letter took 38.6 s to chunk (a regex
looking for the last whitespace backtracked through the whole window once per position),
and a 185 KB file of words followed by a long run and a few Latin-1 bytes took 30 s in
charset detection. The bounds are CPU seconds (time.process_time), generous against the
measured cost (see each case) and far below the quadratic one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from documents.chunking import ChunkingTimeout, chunk_blocks
from documents.extractors.base import TextBlock
from documents.extractors.text import decode_text

MB = 1_000_000
# Measured on a 2-core EPYC: at most 0.5 s per MB (a text of punctuation: one token per
# character); the quadratic versions took 7-40 s per MB and grew with the size.
CHUNK_SECONDS_PER_MB = 2.0
DECODE_SECONDS_PER_MB = 2.0


def _cpu(call: Callable[[], object]) -> float:
    started = time.process_time()
    call()
    return time.process_time() - started


CHUNK_CASES = {
    "one letter repeated": "a" * 2 * MB,
    "punctuation only": "." * MB,
    "one long line of words": "lorem ipsum dolor sit amet " * (MB // 27),
    "no whitespace, mixed": "ab,cd;" * (MB // 6),
    "CJK without spaces": "漢字かな" * (MB // 4),
    "newlines only between long runs": ("x" * 50_000 + "\n") * 40,
    "quotes after every stop": '.")]' * (MB // 4),
}


@pytest.mark.parametrize("name", CHUNK_CASES)
def test_chunking_is_linear(name):
    text = CHUNK_CASES[name]
    blocks = [TextBlock(text=text, page=None, section="")]
    chunks: list = []
    seconds = _cpu(lambda: chunks.extend(chunk_blocks(blocks)))
    assert seconds <= CHUNK_SECONDS_PER_MB * max(1.0, len(text) / MB), f"{name}: {seconds:.2f} s"
    # Still correct: every chunk is the text at its offsets, and the chunks cover the end.
    for chunk in chunks[:50]:
        assert text[chunk.char_start : chunk.char_end] == chunk.text
    assert chunks[-1].char_end == len(text.rstrip())


def test_chunking_stops_at_its_deadline():
    blocks = [TextBlock(text="." * MB, page=None, section="")]
    with pytest.raises(ChunkingTimeout):
        chunk_blocks(blocks, deadline=time.monotonic() - 1)


DECODE_CASES = {
    "ASCII words, a long run, then Latin-1": (
        b"lorem ipsum dolor " * 5000 + b"x" * 95_000 + b" caf\xe9 na\xefve \xe9t\xe9"
    ),
    "a megabyte run, then one Latin-1 byte": b"y" * MB + b"\xe9",
    "a letter glued to a row of symbols": b"a" + b"\xa9" * 30_000 + b" end",
    "a megabyte of one high byte": b"\xe9" * MB,
    "words with a high byte, no spaces": b"abc\xe9" * (MB // 2),
    "long symbol runs between letters": (b"w" + b"\xa4" * 5000 + b"v") * 40,
}


@pytest.mark.parametrize("name", DECODE_CASES)
def test_charset_detection_is_linear(name):
    data = DECODE_CASES[name]
    seconds = _cpu(lambda: decode_text(data))
    assert seconds <= DECODE_SECONDS_PER_MB * max(1.0, len(data) / MB), f"{name}: {seconds:.2f} s"


def test_a_long_ascii_run_still_leaves_the_latin1_words_readable():
    data = b"lorem ipsum " * 3000 + b"z" * 200_000 + b" Gr\xfc\xdfe aus K\xf6ln"
    assert decode_text(data).endswith(" Grüße aus Köln")
