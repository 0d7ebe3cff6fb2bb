"""Generators for small, real sample files (and hostile ones) used across test suites.

Every ``make_*`` function returns the file's bytes; ``write(tmp_path, name, data)``
puts them on disk. Nothing is stored in the repository, so the files always match
the libraries installed. ``register_hostile_extractors`` adds test-only content
types whose extractors spin, allocate, sleep or crash, to exercise the sandbox.
"""

from __future__ import annotations

import io
import os
import signal
import textwrap
import time
import zipfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from docx import Document as DocxDocument
from fpdf import FPDF
from openpyxl import Workbook
from pptx import Presentation
from pptx.util import Inches, Pt

from documents.extractors.base import ExtractionResult, TextBlock
from documents.extractors.registry import register

PASSWD_MARKER = "root:x:0:0"

SPIN_TYPE = "application/x-test-spin"
HOG_TYPE = "application/x-test-hog"
SLEEP_TYPE = "application/x-test-sleep"
CRASH_TYPE = "application/x-test-crash"
CHATTY_TYPE = "application/x-test-chatty"
HUGE_TYPE = "application/x-test-huge"


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path


# --- PDF ------------------------------------------------------------------------------


def make_pdf(pages: Sequence[str]) -> bytes:
    """A PDF with one page per string; text is wrapped by hand (fpdf2's multi_cell is slow)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        y = 20.0
        for paragraph in text.split("\n\n"):
            for line in textwrap.wrap(paragraph, 90) or [""]:
                if y > 280:
                    break
                pdf.text(15, y, line)
                y += 5
            y += 5
    return bytes(pdf.output())


def page_text(number: int, sentences: int = 12) -> str:
    return (
        f"Page {number} marker zq{number}x. "
        + "The quick brown fox jumps over the lazy dog. " * (sentences)
    )


@lru_cache(maxsize=4)
def make_multipage_pdf(page_count: int = 300, sentences: int = 50) -> bytes:
    return make_pdf([page_text(n, sentences) for n in range(1, page_count + 1)])


def make_image_only_pdf(page_count: int = 2) -> bytes:
    """Pages with a picture and vector shapes but no text layer, like a scan."""
    from PIL import Image

    picture = Image.new("RGB", (200, 100), (200, 30, 30))
    pdf = FPDF()
    for _ in range(page_count):
        pdf.add_page()
        pdf.image(picture, x=20, y=20, w=120)
        pdf.rect(20, 150, 80, 40, style="F")
    return bytes(pdf.output())


def make_blank_pdf(page_count: int = 2) -> bytes:
    """Pages with nothing on them: no text, nothing for OCR to look at."""
    pdf = FPDF()
    for _ in range(page_count):
        pdf.add_page()
    return bytes(pdf.output())


def make_truncated_pdf() -> bytes:
    data = make_pdf([page_text(1), page_text(2)])
    return data[: len(data) // 2]


def pdf_from_objects(
    objects: Sequence[bytes],
    *,
    version: bytes = b"1.4",
    offsets: Sequence[int] | None = None,
    trailer: bytes = b"",
) -> bytes:
    """Objects 1..n, a classic xref table (``offsets`` instead of the real ones) and a
    trailer; ``XREF`` in ``trailer`` stands for the table's own offset."""
    out = io.BytesIO()
    out.write(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    real = []
    for number, body in enumerate(objects, start=1):
        real.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets if offsets is not None else real:
        out.write(b"%010d 00000 n \n" % offset)
    extra = trailer.replace(b"XREF", b"%d" % xref)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R %s>>\n" % (len(objects) + 1, extra))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def make_nested_pdf(depth: int = 100_000, text: bytes = b"Nested hello") -> bytes:
    """A hand-built PDF whose resources hold ``depth`` nested arrays and whose content
    stream nests ``q`` operators as deep: parser stack-exhaustion bait."""
    content = (
        b"q " * depth + b"BT /F1 12 Tf 72 720 Td (" + text + b") Tj ET " + b"Q " * depth
    ).strip()
    nested = b"[" * depth + b"]" * depth
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> /Deep " + nested + b" >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return pdf_from_objects(objects)


# --- OOXML ----------------------------------------------------------------------------


def make_docx(
    content: Sequence[tuple[str, str]] | None = None, *, table: Sequence[Sequence[str]] = ()
) -> bytes:
    """``content`` is (kind, text) with kind "h1".."h3", "title" or "p"."""
    if content is None:
        content = [
            ("title", "Quarterly Report"),
            ("p", "Opening words before any heading."),
            ("h1", "Revenue"),
            ("p", "Revenue grew by twelve percent."),
            ("h2", "By region"),
            ("p", "Europe led the growth."),
            ("h1", "Costs"),
            ("p", "Costs stayed flat."),
        ]
    doc = DocxDocument()
    for kind, text in content:
        if kind == "title":
            doc.add_heading(text, level=0)
        elif kind.startswith("h"):
            doc.add_heading(text, level=int(kind[1:]))
        else:
            doc.add_paragraph(text)
    if table:
        grid = doc.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def replace_member(archive: bytes, name: str, data: bytes) -> bytes:
    """Copy a zip, swapping one member's contents."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            target.writestr(info.filename, data if info.filename == name else source.read(info))
    return out.getvalue()


def make_xxe_docx(target: str = "file:///etc/passwd") -> bytes:
    """A DOCX whose document.xml declares an external entity and uses it in a run."""
    ns = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{target}">]>\n'
        f'<w:document xmlns:w="{ns}"><w:body>'
        "<w:p><w:r><w:t>Before &xxe; after</w:t></w:r></w:p>"
        "<w:p><w:r><w:t>Innocent paragraph.</w:t></w:r></w:p>"
        "</w:body></w:document>"
    )
    return replace_member(make_docx(), "word/document.xml", xml.encode())


def make_zip_bomb_docx(expanded_mb: int = 210) -> bytes:
    """A valid DOCX plus one member of ``expanded_mb`` MB of zeros (about 1000:1)."""
    out = io.BytesIO(make_docx())
    block = bytes(1024 * 1024)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/media/padding.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(expanded_mb):
            member.write(block)
    return out.getvalue()


def make_many_members_docx(count: int = 6000) -> bytes:
    out = io.BytesIO(make_docx())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as archive:
        for n in range(count):
            archive.writestr(f"customXml/bulk{n}.xml", b"<a/>")
    return out.getvalue()


def make_pptx(slides: Sequence[tuple[str, str]] | None = None) -> bytes:
    """One slide per (title, body); an empty title makes a title-less slide."""
    if slides is None:
        slides = [
            ("Welcome", "Agenda for the offsite meeting."),
            ("Roadmap", "Ship search in March.\nShip answers in May."),
            ("", "A slide without a title."),
        ]
    deck = Presentation()
    for title, body in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1 if title else 6])
        if title:
            slide.shapes.title.text = title
            slide.placeholders[1].text = body
        else:
            box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(6), Inches(2))
            box.text_frame.text = body
            box.text_frame.paragraphs[0].runs[0].font.size = Pt(18)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def make_xlsx(sheets: dict[str, Sequence[Sequence[object]]] | None = None) -> bytes:
    if sheets is None:
        sheets = {
            "Sales": [("Region", "Units", "Price"), ("North", 10, 2.5), ("South", 7, 3)],
            "Staff": [("Name", "Role"), ("Ada", "Engineer"), ("Grace", None)],
        }
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- text formats ---------------------------------------------------------------------

HTML_SAMPLE = b"""<!DOCTYPE html>
<html><head><title>Guide</title><style>body { color: red }</style>
<script>var secret = "script-text-must-vanish";</script></head>
<body><h1>Install</h1><p>Run the <b>installer</b> first.</p>
<noscript>noscript-text-must-vanish</noscript>
<h2>Linux</h2><ul><li>Open a terminal.</li><li>Type the command.</li></ul>
<h1>Use</h1><p>Search &amp; ask questions.</p>
<table><tr><th>Key</th><th>Action</th></tr><tr><td>F1</td><td>Help</td></tr></table>
</body></html>"""

MARKDOWN_SAMPLE = """# Handbook

Welcome to the team.

## Holidays

You get 25 days.

```python
# not a heading inside code
print("hi")
```

## Expenses

Submit receipts **monthly**.
"""

CSV_SAMPLE = "name;city;age\nAda;London;36\nLinus;Helsinki;54\n"


# --- hostile extractors (test-only content types) -----------------------------------


class _Hostile:
    content_types: frozenset[str]

    def __init__(self, name: str, content_type: str) -> None:
        self.name = name
        self.content_types = frozenset({content_type})

    def extract(self, path: Path) -> ExtractionResult:
        if self.name == "spin":
            while True:
                pass
        if self.name == "hog":
            hoard = []
            while True:
                hoard.append(bytearray(50_000_000))
        if self.name == "sleep":
            time.sleep(3600)
        if self.name == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if self.name == "chatty":
            print("garbage on stdout")  # must not corrupt the sandbox protocol
            os.write(1, b"\x00\x00\x00\x05junk")
        text = "x " * 5_000_000 if self.name == "huge" else path.read_text()
        return ExtractionResult([TextBlock(text, None, "")], None, f"test:{self.name}")


def register_hostile_extractors() -> None:
    """Called inside the sandbox host (``setup=["samples:register_hostile_extractors"]``)."""
    for name, content_type in [
        ("spin", SPIN_TYPE),
        ("hog", HOG_TYPE),
        ("sleep", SLEEP_TYPE),
        ("crash", CRASH_TYPE),
        ("chatty", CHATTY_TYPE),
        ("huge", HUGE_TYPE),
    ]:
        register(_Hostile(name, content_type), replace=True)


class _ScriptedText:
    """Plain text, except a file whose content is "spin" or "hog" misbehaves."""

    name = "text:scripted"
    content_types = frozenset({"text/plain"})

    def extract(self, path: Path) -> ExtractionResult:
        command = path.read_text().strip()
        if command == "spin":
            while True:
                pass
        if command == "hog":
            hoard = []
            while True:
                hoard.append(bytearray(50_000_000))
        return ExtractionResult([TextBlock(command, None, "")], None, self.name)


def register_scripted_text_extractor() -> None:
    """Replace the text/plain extractor (runs in the reusable sandbox worker)."""
    register(_ScriptedText(), replace=True)
