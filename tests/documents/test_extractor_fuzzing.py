"""Fuzzing the extractors: whatever bytes arrive, each reads text or refuses with a sentence.

Hypothesis builds inputs per format: raw bytes, text in many encodings, CSV, HTML and
Markdown from their syntax's pieces, PDFs and images with bytes flipped, cut or inserted,
and DOCX/XLSX/PPTX whose XML parts are garbled inside an intact zip. Each extractor must
return an ExtractionResult that crosses the sandbox pipe, or raise ExtractionError with a
sentence, within EXAMPLE_SECONDS. A damaged file may make a parsing library raise (the
registry's extract_file turns that into "could not be read; it may be damaged"), but never
our own code: an exception whose last frame is in documents/ is a crash to fix. Every crash
found is kept below as a regression test with its input.

Examples are drawn from a fixed seed (`derandomize`), so CI runs the same bounded set in
about a minute; for a deeper run, raise EXAMPLES and set `derandomize=False`.
"""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
import traceback
import zipfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from documents import formats
from documents.extractors.base import ExtractionError, ExtractionResult
from documents.extractors.registry import extract_file, load_extractor
from documents.extractors.text import decode_text
from tests.conftest import ROOT
from tests.documents import samples

EXAMPLE_SECONDS = 10
OUR_CODE = str(ROOT / "documents")
EXAMPLES = 60  # per format; raise it (and drop derandomize) for a deeper run by hand
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    def expire(*_: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def is_sentence(message: str) -> bool:
    return bool(message) and message[0].isupper() and message.rstrip().endswith((".", ")"))


@cache
def extractor_for(content_type: str) -> Any:
    return load_extractor(formats.BY_CONTENT_TYPE[content_type].extractor)


def outcome(extract: Callable[[], Any]) -> Any:
    """What `extract` returned, or the exception it raised (a hang is raised at once)."""
    with time_limit(EXAMPLE_SECONDS):
        try:
            return extract()
        except Hang:
            raise
        except Exception as exc:
            return exc


def reads_or_refuses(data: bytes, content_type: str) -> None:
    """The property every extractor holds, for one input."""
    suffix = formats.BY_CONTENT_TYPE[content_type].stored_extension
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        result = outcome(lambda: extractor_for(content_type).extract(path))
        if isinstance(result, ExtractionError):
            assert is_sentence(result.message), result.message
        elif isinstance(result, Exception):
            last = traceback.extract_tb(result.__traceback__)[-1]
            assert not last.filename.startswith(OUR_CODE), (
                f"{type(result).__name__}: {result} at {last.filename}:{last.lineno}"
            )
            # A library's error on a damaged file: the registry words it for people.
            with pytest.raises(ExtractionError, match="damaged"):
                extract_file(path, content_type)
        else:
            assert isinstance(result, ExtractionResult)
            # It crosses the sandbox's pipe as JSON.
            assert ExtractionResult.from_dict(result.to_dict()) == result


# --- strategies -----------------------------------------------------------------------

ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "cp1252", "cp1251", "koi8_r", "shift_jis", "latin-1")


@st.composite
def encoded_text(draw: st.DrawFn, pieces: st.SearchStrategy[str] | None = None) -> bytes:
    """Text (or syntax pieces joined) in one of several encodings, or raw bytes."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(min_size=1, max_size=4096))
    if pieces is None:
        text = draw(st.text(min_size=1, max_size=2000))
    else:
        text = "".join(draw(st.lists(pieces, min_size=1, max_size=200)))
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, "replace")
    if draw(st.booleans()):  # a stray byte or a cut multi-byte sequence
        data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=4))
    return data or b"x"


WORDS = st.sampled_from(["alpha", "Straße", "crème", "Привет", "שלום", "日本語", "\u202e", " "])
CSV_PIECES = st.one_of(
    WORDS, st.sampled_from([",", ";", "\t", "|", '"', '""', "\n", "\r\n", "\r", "\x00", "'"])
)
HTML_PIECES = st.one_of(
    WORDS,
    st.sampled_from(
        [
            *("<p>", "</p>", "<h1>", "</h1>", "<h3>", "<table>", "<tr>", "<td>", "</td>"),
            *("<script>", "</script>", "<style>", "<svg><text>", "</svg>", "<!-- ", " -->"),
            *("<!DOCTYPE html>", '<meta charset="utf-16">', "<meta charset=koi8-r>"),
            *("&amp;", "&#0;", "&#x110000;", "&nosuch;", "<![CDATA[", "]]>", "<", ">", "<br/>"),
            *('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>', "&e;", "<font>" * 5),
            *("<a href='javascript:x'>", "<li>", "<pre>", "<dt>", "<dd>", "\x00", "\ufeff"),
        ]
    ),
)
MARKDOWN_PIECES = st.one_of(
    WORDS,
    st.sampled_from(
        [
            *("# ", "###### ", "\n", "\n\n", "```", "~~~", "    ", "> ", "- ", "1. ", "* "),
            *("| a | b |\n|---|---|\n", "[x](y)", "![i](j)", "<div>", "</div>", "---\n"),
            *("\\", "`", "**", "_", "&amp;", "<!--", "-->", "[^1]", "\t", "\r"),
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with a few bytes overwritten, inserted or removed, or cut short."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, max(0, len(data) - 1)))
        how = draw(st.sampled_from(["flip", "insert", "delete", "cut", "digits"]))
        if how == "flip":
            data[where : where + 1] = draw(st.binary(min_size=1, max_size=16))
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=64))
        elif how == "delete":
            del data[where : where + draw(st.integers(1, 64))]
        elif how == "cut":
            del data[where:]
        else:  # numbers drive PDF xref offsets, lengths and counts
            data[where:where] = str(draw(st.integers(-(2**40), 2**40))).encode()
    return bytes(data) or b"%"


@cache
def base_files() -> dict[str, bytes]:
    image = io.BytesIO()
    from PIL import Image

    Image.new("L", (40, 20), 255).save(image, "PNG")
    return {
        formats.PDF: samples.make_pdf(["First page about budgets.", "Second page, notice."]),
        formats.DOCX: samples.make_docx(table=[["Name", "Role"], ["Ada", "Engineer"]]),
        formats.XLSX: samples.make_xlsx(),
        formats.PPTX: samples.make_pptx(),
        formats.PNG: image.getvalue(),
    }


XML_PIECES = st.one_of(
    WORDS,
    st.sampled_from(
        [
            *("<w:p>", "</w:p>", "<w:r>", "<w:t>", "</w:t>", "</w:r>", "<w:tbl>", "<w:tr>"),
            *("<w:tc>", "</w:tc>", "</w:tr>", "</w:tbl>", '<w:pStyle w:val="Heading1"/>'),
            *("<w:pPr>", "</w:pPr>", "<row>", "<c r='A1' t='s'><v>9999</v></c>", "</row>"),
            *("<c t='inlineStr'><is><t>x</t></is></c>", "<v>1e400</v>", "<a:t>", "</a:t>"),
            *("<?xml version='1.0'?>", "<!DOCTYPE d [<!ENTITY a 'aaaa'>]>", "&a;", "&#1;"),
        ]
    ),
)
OOXML_PARTS = {
    formats.DOCX: "word/document.xml",
    formats.XLSX: "xl/worksheets/sheet1.xml",
    formats.PPTX: "ppt/slides/slide1.xml",
}
NAMESPACES = {
    formats.DOCX: (
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body>",
        "</w:body></w:document>",
    ),
    formats.XLSX: (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>',
        "</sheetData></worksheet>",
    ),
    formats.PPTX: (
        '<p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree>',
        "</p:spTree></p:cSld></p:sld>",
    ),
}


@st.composite
def garbled_ooxml(draw: st.DrawFn, content_type: str) -> bytes:
    """An intact zip whose main XML part is garbled, or whose bytes are mutated."""
    original = base_files()[content_type]
    if draw(st.booleans()):
        return draw(mutated(original))
    head, tail = NAMESPACES[content_type]
    body = "".join(draw(st.lists(XML_PIECES, max_size=80)))
    if draw(st.booleans()):
        body = head + body + tail
    return samples.replace_member(original, OOXML_PARTS[content_type], body.encode())


# --- the fuzzing runs -----------------------------------------------------------------


@FUZZ
@given(data=encoded_text())
def test_charset_detection_decodes_or_refuses_any_bytes(data: bytes) -> None:
    decoded = outcome(lambda: decode_text(data))
    if isinstance(decoded, ExtractionError):
        assert is_sentence(decoded.message)
    else:
        assert isinstance(decoded, str)


@FUZZ
@given(data=encoded_text())
def test_plain_text(data: bytes) -> None:
    reads_or_refuses(data, formats.TEXT)


@FUZZ
@given(data=encoded_text(CSV_PIECES))
def test_csv(data: bytes) -> None:
    reads_or_refuses(data, formats.CSV)


@FUZZ
@given(data=encoded_text(HTML_PIECES))
def test_html(data: bytes) -> None:
    reads_or_refuses(data, formats.HTML)


@FUZZ
@given(data=encoded_text(MARKDOWN_PIECES))
def test_markdown(data: bytes) -> None:
    reads_or_refuses(data, formats.MARKDOWN)


@FUZZ
@given(data=st.deferred(lambda: mutated(base_files()[formats.PDF])))
def test_pdf(data: bytes) -> None:
    reads_or_refuses(data, formats.PDF)


@FUZZ
@given(data=st.deferred(lambda: mutated(base_files()[formats.PNG])))
def test_png(data: bytes) -> None:
    reads_or_refuses(data, formats.PNG)


@pytest.mark.parametrize("content_type", sorted(OOXML_PARTS))
@FUZZ
@given(data=st.data())
def test_office_files(content_type: str, data: st.DataObject) -> None:
    reads_or_refuses(data.draw(garbled_ooxml(content_type)), content_type)


def test_a_zip_with_nothing_of_the_format_inside_is_refused_with_a_sentence() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as empty:
        empty.writestr("readme.txt", "not a document")
    for content_type in OOXML_PARTS:
        reads_or_refuses(archive.getvalue(), content_type)
