"""Whether a PDF page's text layer is usable, or the page must be read with OCR.

A page needs OCR when its text layer is missing, too thin for the page (a scanner's
"Scanned by ..." stamp over a page image: fewer than MIN_CHARS_PER_SQUARE_INCH), or
garbage: a font without a Unicode map makes PDFium report U+FFFD, private-use or control
characters, runs of symbols, or letters of scripts thrown together (no script holds half of
them, or letter_frequencies.fit scores them below any real language). A normal page of text
holds 15-40 characters per square inch; a slide title over a photograph about 0.5.

Pure Python, no Django (runs in the sandbox).
"""

from __future__ import annotations

import re
from collections import Counter

from documents.extractors.letter_frequencies import fit, script

__all__ = ["MIN_CHARS_PER_SQUARE_INCH", "NO_TEXT_LAYER", "usable_text"]

# A PDF without text and nothing to recognise (or with OCR turned off).
NO_TEXT_LAYER = (
    "The PDF has no extractable text (scanned?). Run it through OCR "
    "(for example “Recognize text” in your PDF tool) and upload the result."
)

MIN_CHARS_PER_SQUARE_INCH = 0.5
MAX_BAD_SHARE = 0.2  # U+FFFD, private-use, surrogate or control characters
MIN_WORD_SHARE = 0.5  # letters and digits among the visible characters
MIN_FIT_PER_CHAR = -9.0  # real text of any language in the tables scores -2 to -8
_BAD = re.compile("[\ufffd\ue000-\uf8ff\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s")
_WORD_CHARACTER = re.compile(r"[^\W_]")  # a letter or a digit, in any script
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_POINTS_PER_INCH = 72


def usable_text(text: str, width_points: float, height_points: float) -> bool:
    """Whether ``text`` reads as the real text of a page of this size (in PDF points)."""
    visible = _SPACE.sub("", text)
    square_inches = max(width_points * height_points, 1.0) / _POINTS_PER_INCH**2
    if len(visible) < MIN_CHARS_PER_SQUARE_INCH * square_inches:
        return False
    if len(_BAD.findall(visible)) > MAX_BAD_SHARE * len(visible):
        return False
    if len(_WORD_CHARACTER.findall(visible)) < MIN_WORD_SHARE * len(visible):
        return False
    return _reads_as_a_language(visible)


def _reads_as_a_language(visible: str) -> bool:
    """Letters mostly outside ASCII must fit some language (or CJK) of letter_frequencies,
    and one script must hold at least half of them (a bilingual page does)."""
    foreign = [ch for ch in _NON_ASCII.findall(visible) if ch.isalpha()]
    if len(foreign) < len(_ASCII_LETTER.findall(visible)):
        return True  # mostly ASCII letters: the checks above suffice
    scripts = Counter(script(ch) for ch in foreign)
    if scripts.most_common(1)[0][1] * 2 < len(foreign):
        return False
    return fit("".join(foreign), len(foreign)).per_byte >= MIN_FIT_PER_CHAR
