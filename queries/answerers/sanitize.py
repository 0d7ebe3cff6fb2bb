"""Make untrusted document text safe to place inside a prompt.

Documents come from users, and a document can carry instructions meant for the
model ("ignore the above…"). We cannot stop a model from reading words, but we
can stop text from hiding (invisible and tag characters, bidi tricks) and from
closing the delimiter it sits in and posing as prompt structure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x0008),  # C0 controls, except tab and newline below
    (0x000B, 0x000C),
    (0x000E, 0x001F),
    (0x007F, 0x009F),  # DEL and C1 controls
    (0x00AD, 0x00AD),  # soft hyphen: invisible when rendered
    (0x061C, 0x061C),  # Arabic letter mark (bidi)
    (0x180E, 0x180E),  # Mongolian vowel separator (zero width)
    (0x200B, 0x200F),  # zero-width space/joiners, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x2064),  # word joiner, invisible operators
    (0x2066, 0x2069),  # bidi isolates
    (0xFE00, 0xFE0F),  # variation selectors: can smuggle bytes after a visible character
    (0xFEFF, 0xFEFF),  # zero-width no-break space / BOM
    (0xE0000, 0xE007F),  # Unicode tag characters: invisible ASCII shadow alphabet
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
_INVISIBLE_TABLE: dict[int, None] = {
    codepoint: None for low, high in _INVISIBLE_RANGES for codepoint in range(low, high + 1)
}
# Carriage returns become newlines rather than vanishing, so "a\rb" stays two words.
_INVISIBLE_TABLE_WITH_CR: dict[int, str | None] = {**_INVISIBLE_TABLE, 0x000D: "\n"}

# Look-alike angle brackets a model reads as "<" and ">".
_OPEN = "<\uff1c\ufe64\u2039\u3008\u27e8"
_CLOSE = ">\uff1e\ufe65\u203a\u3009\u27e9"

DEFAULT_DELIMITER_TAGS: tuple[str, ...] = ("source", "sources", "question")


def strip_invisible(text: str) -> str:
    """Remove zero-width, bidi-control, tag, variation-selector and control characters."""
    return text.translate(_INVISIBLE_TABLE_WITH_CR)


def neutralize_delimiters(text: str, tags: Iterable[str] = DEFAULT_DELIMITER_TAGS) -> str:
    """Defuse any opening or closing tag named in `tags`, e.g. "</source>" or "< Source id=2>".

    The bracket becomes "&lt;" so the text still reads naturally to a model but
    can no longer end (or start) the block it is quoted in.
    """
    names = "|".join(re.escape(tag) for tag in tags)
    if not names:
        return text
    pattern = re.compile(rf"[{_OPEN}](\s*/?\s*(?:{names})\b)", re.IGNORECASE)
    return pattern.sub(lambda m: "&lt;" + m.group(1), text)


def sanitize_source_text(text: str, tags: Iterable[str] = DEFAULT_DELIMITER_TAGS) -> str:
    """Everything a source needs before it goes between prompt delimiters.

    Invisible characters go first so "</so\u200burce>" cannot survive as a tag.
    """
    return neutralize_delimiters(strip_invisible(text), tags)


def escape_attribute(value: str) -> str:
    """Make a value safe inside a double-quoted pseudo-XML attribute on one line."""
    cleaned = " ".join(strip_invisible(value).split())
    return (
        cleaned.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )
