"""HTML extraction with lxml's HTML parser: visible text only, block elements become
paragraphs, h1-h6 build the section path, table rows become " | "-joined lines.

Parser hardening: no_network=True, huge_tree=False (libxml2's depth and size limits
stay on). lxml's HTMLParser has no resolve_entities option because HTML mode never
loads DTDs or external entities; only the predefined HTML character entities expand.

Those limits (256 levels of nesting, e.g. from hundreds of unclosed <font> tags; text
nodes of 10 MB) make libxml2 stop reading and return what it has so far, which would
silently drop the rest of the page. A page that hits one is parsed again with
huge_tree=True (2,048 levels; the sandbox's CPU and memory limits and the size cap
still apply); a page beyond that fails with a sentence saying why.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from lxml import etree

from documents import filetypes
from documents.extractors.base import (
    ExtractionError,
    ExtractionResult,
    TextBlock,
    normalize_text,
)
from documents.extractors.sections import SectionPath
from documents.extractors.text import decode_text

__all__ = ["HtmlExtractor"]

DROPPED = ("script", "style", "noscript", "template", "head", "iframe", "object", "svg")
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "body", "caption", "dd", "details"),
        *("dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form"),
        *("header", "hgroup", "hr", "html", "legend", "li", "main", "nav", "ol", "p", "pre"),
        *("section", "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", *HEADINGS),
    }
)

_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{1,40})""", re.I
)
_WHITESPACE = re.compile(r"\s+")
_DEPTH = re.compile(r"Excessive depth in document: (\d+)")


class HtmlExtractor:
    name = "html:lxml"
    content_types = frozenset({filetypes.HTML})

    def __init__(self, *, max_bytes: int = 50 * 1_048_576) -> None:
        self.max_bytes = max_bytes

    def extract(self, path: Path) -> ExtractionResult:
        data = path.read_bytes()[: self.max_bytes]
        text = _decode(data)
        root, stopped = _parse(text, huge=False)
        if stopped:
            root, stopped = _parse(text, huge=True)
        if stopped:
            raise ExtractionError(_limit_sentence(stopped))
        if root is None:
            return ExtractionResult(blocks=[], page_count=None, extractor=self.name)
        etree.strip_elements(root, *DROPPED, with_tail=False)
        return ExtractionResult(blocks=_walk(root), page_count=None, extractor=self.name)


def _parse(text: str, *, huge: bool) -> tuple[etree._Element | None, str]:
    """The root, and the message of the fatal error that stopped libxml2 early ("" if none)."""
    parser = etree.HTMLParser(
        no_network=True, huge_tree=huge, remove_comments=True, remove_pis=True
    )
    root = etree.fromstring(text, parser)
    fatal = [e.message for e in parser.error_log if e.level == etree.ErrorLevels.FATAL]
    return root, (fatal[0] or "fatal error") if fatal else ""


def _limit_sentence(message: str) -> str:
    depth = _DEPTH.search(message)
    if depth:
        return (
            f"The HTML page is nested too deeply (more than {int(depth.group(1)):,} levels of "
            "elements) to read. Open it in a browser, save or print it as PDF, and upload that."
        )
    return (
        f"The HTML page could not be read to the end ({message.strip().rstrip('.')}). "
        "Open it in a browser, save or print it as PDF, and upload that."
    )


def _decode(data: bytes) -> str:
    match = _META_CHARSET.search(data[:4096])
    if match and not data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = _meta_encoding(match.group(1).decode("ascii"))
        if encoding is not None:
            return data.decode(encoding, "replace")
    return decode_text(data)


# The encodings a browser applies from a <meta charset> (the WHATWG Encoding Standard's), by
# Python's codec name, and the labels it reads as a superset (Latin-1 and ASCII as
# windows-1252). Any other label is ignored and the bytes are read as plain text is: UTF-16
# and UTF-32, which a page found by reading its bytes as ASCII cannot be (browsers read it
# as UTF-8; read as UTF-16 it became a page of CJK nonsense), and codecs no browser has
# (UTF-7, idna, unicode_escape: one failed the page as damaged).
_BROWSER_ENCODINGS = frozenset(
    {
        *("utf-8", "cp866", "koi8-r", "koi8-u", "mac-roman", "cp874", "gbk", "gb18030"),
        *("big5hkscs", "euc_jp", "iso2022_jp", "cp932", "cp949"),
        *(f"cp{number}" for number in range(1250, 1259)),
        *(f"iso8859-{number}" for number in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)),
    }
)
_READ_AS = {
    **dict.fromkeys(("iso8859-1", "ascii"), "cp1252"),
    **{"iso8859-9": "cp1254", "iso8859-11": "cp874", "tis-620": "cp874", "gb2312": "gbk"},
    **{"big5": "big5hkscs", "shift_jis": "cp932", "euc_kr": "cp949"},
}


def _meta_encoding(label: str) -> str | None:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = _READ_AS.get(name, name)
    return name if name in _BROWSER_ENCODINGS else None


_LINK_MARKS = " \u00b6\u00a7\U0001f517"  # space, pilcrow, section sign, link symbol


class _Collector:
    """Accumulates inline text into paragraphs and paragraphs into per-section blocks."""

    def __init__(self) -> None:
        self.sections = SectionPath()
        self.blocks: list[TextBlock] = []
        self.paragraphs: list[str] = []
        self.inline: list[str] = []
        self.cells_in_row = 0
        self.term_open = False  # a <dt> just ended: its <dd> continues the same paragraph

    def end_paragraph(self) -> str:
        text = "\n".join(line.strip() for line in "".join(self.inline).split("\n"))
        self.inline.clear()
        text = text.strip()
        if text:
            self.paragraphs.append(text)
        return text

    def end_block(self) -> None:
        text = normalize_text("\n\n".join(self.paragraphs))
        if text:
            self.blocks.append(TextBlock(text=text, page=None, section=self.sections.path))
        self.paragraphs.clear()

    def heading(self, level: int) -> None:
        # Documentation generators end headings with a link mark (Sphinx and MkDocs "¶"):
        # it belongs to the page, not to the section's name.
        title = " ".join("".join(self.inline).split()).rstrip(_LINK_MARKS).rstrip()
        self.inline.clear()
        if title:
            self.end_block()
            self.sections.enter(level, title)
            self.paragraphs.append(title)


def _walk(root: etree._Element) -> list[TextBlock]:
    out = _Collector()
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag == "dd" and out.term_open:
                out.term_open = False  # "term — definition": one paragraph, one sentence
            elif tag in BLOCKS:
                out.term_open = False
                out.end_paragraph()
            if tag == "tr":
                out.cells_in_row = 0
            elif tag in ("td", "th"):
                if out.cells_in_row:
                    out.inline.append(" | ")
                out.cells_in_row += 1
            elif tag == "br":
                out.inline.append("\n")
            if element.text:
                out.inline.append(_WHITESPACE.sub(" ", element.text))
            continue
        if tag in HEADINGS:
            out.heading(HEADINGS[tag])
        elif tag == "dt" and "".join(out.inline).strip():
            out.inline.append(" \u2014 ")
            out.term_open = True
        elif tag in BLOCKS:
            out.end_paragraph()
        if element.tail:
            out.inline.append(_WHITESPACE.sub(" ", element.tail))
    out.end_paragraph()
    out.end_block()
    return out.blocks
