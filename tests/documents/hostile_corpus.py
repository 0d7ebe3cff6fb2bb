"""The hostile corpus: files built to break an ingestion pipeline, and what each must do.

Each entry is a file name (sent byte for byte as the multipart file name), how to build the
file at test time (bytes, or a path to a sparse file that is streamed), and the outcome a
person uploading it must see:

- ``refused``: the upload answers 400/413/415 with an error code and a sentence;
- ``failed``: accepted, then the document ends ``failed`` with a sentence saying why;
- ``ready``: the safe text is indexed (an entity is never expanded, a bomb never unpacked,
  bad bytes read around), and what must stay out (``absent``: the canary file's word, the
  password file's first line, an expanded entity) is in no chunk, search hit or sentence.

tests/documents/test_hostile_corpus.py uploads every one through the API to a real worker.
docs/reliability.md ("Hostile input") counts the files by category.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.documents import hostile_files as files
from tests.documents import samples
from tests.documents.hostile_builders import (
    MB,
    PAGE_TEXT,
    add_members,
    docx_body,
    laughs_doctype,
    ooxml_with_doctype,
    page_objects,
    paragraph,
    pdf,
    pdf_flate_bomb,
    pdf_many_pages,
    pdf_outline_loop,
    pdf_with_xref_stream,
    png_claiming,
    ratio_bomb,
    tiff_frames,
    xxe_doctype,
)
from tests.documents.hostile_files import CANARY, LAUGHS, PASSWD, WORDS, Workspace


@dataclass(frozen=True)
class Expect:
    outcome: str  # refused | failed | ready
    phrases: tuple[str, ...]  # in the refusal's or failure's sentence; for ready, the chunks
    http: int = 202
    code: str = ""  # the refusal's error code
    absent: tuple[str, ...] = ()
    filename: str | None = None  # the name the document is stored under, when it matters


def refused(http: int, code: str, phrase: str) -> Expect:
    return Expect("refused", (phrase,), http=http, code=code)


def failed(phrase: str, *, absent: tuple[str, ...] = ()) -> Expect:
    return Expect("failed", (phrase,), absent=absent)


def ready(*phrases: str, absent: tuple[str, ...] = (), filename: str | None = None) -> Expect:
    return Expect("ready", phrases, absent=absent, filename=filename)


@dataclass(frozen=True)
class Hostile:
    name: str
    category: str
    make: Callable[[Workspace], bytes | Path]
    expect: Expect


SECRETS = (CANARY, PASSWD)
ZIP_BOMB = "it looks like a zip bomb"
DTD = "XML document type declaration"
PDF_DAMAGED = "The PDF is damaged or incomplete"
PDF_UNREADABLE = "The PDF could not be read; it may be damaged"


CORPUS: list[Hostile] = [
    # --- decompression bombs ----------------------------------------------------------
    Hostile("bomb.docx", "bomb", lambda _: samples.make_zip_bomb_docx(), failed(ZIP_BOMB)),
    Hostile(
        "bomb.pptx",
        "bomb",
        lambda _: ratio_bomb(samples.make_pptx(), "ppt/media/pad.bin", 20),
        failed("compression limit; " + ZIP_BOMB),
    ),
    Hostile(
        "bomb.xlsx",
        "bomb",
        lambda _: ratio_bomb(samples.make_xlsx(), "xl/media/pad.bin", 20),
        failed("compression limit; " + ZIP_BOMB),
    ),
    Hostile("overlap.docx", "bomb", files.overlapped_docx, failed("expands to 1,000 MB")),
    Hostile(
        "parts.xlsx",
        "bomb",
        lambda _: add_members(samples.make_xlsx(), 6000),
        failed("over the 5,000 limit"),
    ),
    Hostile(
        "understated.docx",
        "bomb",
        files.understated_docx,
        failed("zip structure is damaged or incomplete"),
    ),
    Hostile("nested-zip.docx", "bomb", files.nested_zip_docx, ready("Revenue grew by twelve")),
    Hostile(
        "pixels.png",
        "bomb",
        lambda _: png_claiming(100_000, 100_000),
        failed("over the 60-megapixel limit"),
    ),
    Hostile(
        "inflate.pdf",
        "bomb",
        lambda _: pdf_flate_bomb(300),
        ready("turbulent boundary layers"),
    ),
    # --- PDF structure ----------------------------------------------------------------
    Hostile(
        "nested-arrays.pdf",
        "pdf",
        lambda _: samples.make_nested_pdf(text=PAGE_TEXT.encode()),
        ready("turbulent boundary layers"),
    ),
    Hostile(
        "nested-dicts.pdf",
        "pdf",
        lambda _: pdf(page_objects(page_extra=b"/Deep " + b"<<" * 50_000 + b">>" * 50_000)),
        failed("The PDF has no extractable text"),
    ),
    Hostile(
        "xref-offsets.pdf",
        "pdf",
        lambda _: pdf(page_objects(), offsets=[999_999_999] * 5),
        ready("turbulent boundary layers"),
    ),
    Hostile(
        "xref-prev-loop.pdf",
        "pdf",
        lambda _: pdf(page_objects(), trailer=b"/Prev XREF "),
        ready("turbulent boundary layers"),
    ),
    Hostile(
        "xref-stream-loop.pdf",
        "pdf",
        lambda _: pdf_with_xref_stream(prev_loop=True),
        ready("turbulent boundary layers"),
    ),
    Hostile(
        "objstm-in-itself.pdf",
        "pdf",
        lambda _: pdf_with_xref_stream(stream_in_itself=True),
        failed(PDF_UNREADABLE),
    ),
    Hostile(
        "page-tree-cycle.pdf",
        "pdf",
        lambda _: pdf(page_objects(kids=b"[2 0 R 3 0 R]", count=b"2")),
        failed(PDF_UNREADABLE),
    ),
    Hostile(
        "count-lie.pdf",
        "pdf",
        lambda _: pdf(page_objects(count=b"2147483647")),
        ready("turbulent boundary layers"),
    ),
    Hostile(
        "length-loop.pdf",
        "pdf",
        files.self_length_pdf,
        ready("turbulent boundary layers"),
    ),
    Hostile("outline-loop.pdf", "pdf", lambda _: pdf_outline_loop(), ready("swept wings")),
    Hostile(
        "pages.pdf", "pdf", lambda _: pdf_many_pages(6000), failed("over the 5,000-page limit")
    ),
    Hostile("truncated.pdf", "pdf", lambda _: samples.make_truncated_pdf(), failed(PDF_DAMAGED)),
    # --- XML entities -----------------------------------------------------------------
    Hostile(
        "xxe.docx",
        "entities",
        lambda ws: samples.make_xxe_docx(ws.canary_url),
        failed(DTD, absent=SECRETS),
    ),
    Hostile(
        "passwd.docx",
        "entities",
        lambda _: samples.make_xxe_docx(),
        failed(DTD, absent=SECRETS),
    ),
    Hostile(
        "laughs.docx",
        "entities",
        lambda _: docx_body(paragraph("&lol9;"), prolog=laughs_doctype("w:document")),
        failed(DTD, absent=(LAUGHS,)),
    ),
    Hostile(
        "xxe.xlsx",
        "entities",
        lambda ws: ooxml_with_doctype(
            samples.make_xlsx(),
            "xl/worksheets/sheet1.xml",
            xxe_doctype("worksheet", ws.canary_url),
            "&xxe;",
        ),
        failed(DTD, absent=SECRETS),
    ),
    Hostile(
        "laughs.xlsx",
        "entities",
        lambda _: ooxml_with_doctype(
            samples.make_xlsx(), "xl/worksheets/sheet1.xml", laughs_doctype("worksheet"), "&lol9;"
        ),
        failed(DTD, absent=(LAUGHS,)),
    ),
    Hostile(
        "xxe.pptx",
        "entities",
        lambda ws: ooxml_with_doctype(
            samples.make_pptx(),
            "ppt/slides/slide1.xml",
            xxe_doctype("p:sld", ws.canary_url),
            "&xxe;",
        ),
        failed(DTD, absent=SECRETS),
    ),
    Hostile(
        "hidden-dtd.docx", "entities", files.hidden_dtd_docx, ready("swept wings", absent=SECRETS)
    ),
    Hostile("xxe.html", "entities", files.xxe_html, ready("swept wings", absent=SECRETS)),
    Hostile("laughs.html", "entities", files.laughs_html, ready("swept wings", absent=(LAUGHS,))),
    Hostile("svg.html", "entities", files.svg_html, ready("swept wings", absent=SECRETS)),
    Hostile(
        "svg-laughs.html",
        "entities",
        files.svg_laughs_html,
        ready("swept wings", "After the picture", absent=(LAUGHS,)),
    ),
    # --- size -------------------------------------------------------------------------
    Hostile(
        "sparse-1gb.pdf",
        "size",
        files.sparse("sparse-1gb.pdf", 1024 * MB, b"%PDF-1.7\n"),
        refused(413, "file_too_large", "A file may be at most 50.0 MB"),
    ),
    Hostile(
        "sparse-60mb.txt",
        "size",
        files.sparse("sparse-60mb.txt", 60 * MB, WORDS.encode()),
        refused(413, "file_too_large", "over the limit of 50.0 MB"),
    ),
    Hostile(
        "sparse-49mb.pdf",
        "size",
        files.sparse("sparse-49mb.pdf", 49 * MB, b"%PDF-1.7\n"),
        failed(PDF_DAMAGED),
    ),
    Hostile(
        "zeros.txt",
        "size",
        files.sparse("zeros.txt", 8 * MB),
        refused(415, "unsupported_type", "looks like a binary file"),
    ),
    Hostile(
        "ten-million-lines.csv",
        "size",
        lambda _: b"n\n" + b"1\n" * 10_000_000,
        failed("more than 5,000,000 cells"),
    ),
    Hostile(
        "huge-field.csv",
        "size",
        lambda _: b'a,b\n1,"' + b"x" * 3_000_000 + b'"\n',
        failed("field larger than field limit"),
    ),
    Hostile(
        "deep.html",
        "size",
        lambda _: b"<p>" + WORDS.encode() + b"</p>" + b"<div>" * 100_000 + b"</div>" * 100_000,
        failed("nested too deeply"),
    ),
    Hostile("deep-tables.docx", "size", files.deep_tables_docx, failed("could not be read")),
    Hostile("deep-quotes.md", "size", files.deep_quotes_md, ready("swept wings")),
    Hostile("far-cell.xlsx", "size", files.far_cell_xlsx, ready("far corner")),
    Hostile(
        "frames.tiff",
        "size",
        lambda _: tiff_frames(201),
        failed("201 pages that need text recognition (OCR), over the limit of 200"),
    ),
    # --- encodings ----------------------------------------------------------------------
    Hostile("invalid-utf8.txt", "encoding", files.invalid_utf8_text, ready("hypersonic flow")),
    Hostile(
        "mixed.txt",
        "encoding",
        files.mixed_text,
        ready("Grüße aus Köln: die Straße", "Crème brûlée à la française"),
    ),
    Hostile(
        "stray-byte.txt", "encoding", files.stray_byte_text, ready("naïve Übermäßigkeit. café")
    ),
    Hostile(
        "nul.txt", "encoding", files.nul_after_sniff_text, ready("trailing words after the nul")
    ),
    Hostile(
        "utf16-meta.html",
        "encoding",
        lambda _: f'<meta charset="utf-16"><p>{WORDS}</p>'.encode(),
        ready("swept wings"),
    ),
    Hostile(
        "idna-meta.html",
        "encoding",
        lambda _: f'<meta charset="idna"><p>{WORDS}</p>'.encode(),
        ready("swept wings"),
    ),
    # --- file names ---------------------------------------------------------------------
    Hostile(
        "../../etc/passwd", "name", lambda _: files.words_and(), ready("swept", filename="passwd")
    ),
    Hostile(
        "..\\..\\Windows\\System32\\drivers\\etc\\hosts.txt",
        "name",
        lambda _: files.words_and("hosts"),
        ready("swept", filename="hosts.txt"),
    ),
    Hostile(
        "&#x2F;etc&#x2F;shadow.txt",
        "name",
        lambda _: files.words_and("shadow"),
        ready("swept", filename="shadow.txt"),
    ),
    Hostile(
        "bell\x07 esc\x1b[31m del\x7f.txt",
        "name",
        lambda _: files.words_and("controls"),
        ready("swept", filename="bell esc[31m del.txt"),
    ),
    Hostile(
        "invoice\u202egnp.txt",
        "name",
        lambda _: files.words_and("override"),
        ready("swept", filename="invoicegnp.txt"),
    ),
    Hostile(
        "photo\u202egnp.exe",
        "name",
        lambda _: files.words_and("exe"),
        refused(415, "unsupported_type", "Files ending in .exe are not supported"),
    ),
    Hostile(
        "<img src=x onerror=alert(1)>.md",
        "name",
        lambda _: files.words_and("markup"),
        ready("swept", filename="<img src=x onerror=alert(1)>.md"),
    ),
    Hostile(
        "long" + "g" * 600 + ".txt",
        "name",
        lambda _: files.words_and("long"),
        ready("swept", filename="long" + "g" * 247 + ".txt"),
    ),
    Hostile(
        "longer" + "g" * 5000 + ".txt",
        "name",
        lambda _: files.words_and("longer"),
        refused(400, "parse_error", "with shorter file names"),
    ),
]


def by_category() -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in CORPUS:
        counts[item.category] = counts.get(item.category, 0) + 1
    return counts
