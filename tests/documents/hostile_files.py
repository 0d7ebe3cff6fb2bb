"""The files of the hostile corpus (tests/documents/hostile_corpus.py) that take more than
one builder call, the canary the XML entities point at, and the words the readable ones hold.
Byte-level building blocks are in hostile_builders.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.documents import samples
from tests.documents.hostile_builders import (
    add_member,
    docx_body,
    laughs_doctype,
    member,
    overlapped_zip,
    page_objects,
    paragraph,
    pdf,
    ratio_bomb,
    sparse_file,
    text_content,
    understated_sizes,
    xxe_doctype,
)

CANARY = "zqxcanary7141"  # the word in the local file the XML entities point at
PASSWD = samples.PASSWD_MARKER
LAUGHS = "lollollollol"  # any expansion of the billion laughs
WORDS = "Turbulent boundary layers on swept wings and heat transfer in hypersonic flow."


@dataclass
class Workspace:
    """Where files too big to hold in memory are made, and the canary the entities name."""

    directory: Path
    canary: Path = field(init=False)

    def __post_init__(self) -> None:
        self.canary = self.directory / "canary.txt"
        self.canary.write_text(f"{CANARY} secret line\n")

    @property
    def canary_url(self) -> str:
        return self.canary.resolve().as_uri()


def words_and(*lines: str) -> bytes:
    """A small text file: WORDS, then ``lines``."""
    return "\n\n".join([WORDS, *lines]).encode()


def xxe_html(ws: Workspace) -> bytes:
    return (
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "{ws.canary_url}">]><html><body>'
        f"<h1>Entities</h1><p>{WORDS} &xxe; end.</p></body></html>"
    ).encode()


def laughs_html(_: Workspace) -> bytes:
    return (laughs_doctype("html") + f"<html><body><p>{WORDS} &lol9;</p></body></html>").encode()


def svg_html(ws: Workspace) -> bytes:
    url = ws.canary_url
    return (
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "{url}">]><html><body><p>{WORDS}</p>'
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xi="http://www.w3.org/2001/XInclude">'
        f'<!DOCTYPE svg [<!ENTITY x SYSTEM "{url}">]><text>&xxe; &x;</text>'
        f'<image href="{url}"/><xi:include href="{url}" parse="text"/>'
        f"<foreignObject><p>&xxe;</p></foreignObject></svg>"
        f'<iframe src="{url}"></iframe><object data="{url}"></object></body></html>'
    ).encode()


def svg_laughs_html(_: Workspace) -> bytes:
    """The billion laughs declared inside inline SVG, used in the SVG and after it."""
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg">{laughs_doctype("svg")}<text>&lol9;</text></svg>'
    )
    return f"<html><body><p>{WORDS}</p>{svg}<p>After the picture: &lol9;</p></body></html>".encode()


def hidden_dtd_docx(ws: Workspace) -> bytes:
    # Past the 64 KB of prolog zipcheck scans: python-docx's parser must not resolve it.
    prolog = "<!--" + "x" * 70_000 + "-->" + xxe_doctype("w:document", ws.canary_url)
    return docx_body(paragraph(WORDS) + paragraph("&xxe;"), prolog=prolog)


def deep_tables_docx(_: Workspace) -> bytes:
    depth = 3000
    nested = "<w:tbl><w:tr><w:tc>" * depth + paragraph(WORDS) + "</w:tc></w:tr></w:tbl>" * depth
    return docx_body(paragraph(WORDS) + nested)


def far_cell_xlsx(_: Workspace) -> bytes:
    book = samples.make_xlsx({"Flow": [("Topic", "Note"), ("Wings", WORDS)]})
    sheet = member(book, "xl/worksheets/sheet1.xml")
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>far corner</t></is></c></row>'
    sheet = sheet.replace(b"</sheetData>", far + b"</sheetData>")
    sheet = sheet.replace(b'ref="A1:B2"', b'ref="A1:XFD1048576"')
    return samples.replace_member(book, "xl/worksheets/sheet1.xml", sheet)


def nested_zip_docx(_: Workspace) -> bytes:
    inner = ratio_bomb(add_member(b"", "readme.txt", b"inner"), "zeros.bin", 50)
    return add_member(samples.make_docx(), "word/embeddings/archive.zip", inner, stored=True)


def understated_docx(_: Workspace) -> bytes:
    body = paragraph(WORDS) + "<w:p/>" * 5_000_000
    return understated_sizes(docx_body(body), "word/document.xml", 1000)


def overlapped_docx(_: Workspace) -> bytes:
    return overlapped_zip(["word/document.xml", *(f"word/media/i{n}.bin" for n in range(999))])


def deep_quotes_md(_: Workspace) -> bytes:
    return f"# Flow\n\n{WORDS}\n\n".encode() + b">" * 100_000 + b" deep quote\n"


def mixed_text(_: Workspace) -> bytes:
    utf8 = "Grüße aus Köln: die Straße ist groß. ".encode() * 20
    return utf8 + "Crème brûlée à la française. ".encode("latin-1") * 20 + WORDS.encode()


def stray_byte_text(_: Workspace) -> bytes:
    return "Grüße aus Köln, naïve Übermäßigkeit. ".encode() * 40 + b"caf\xe9 " + WORDS.encode()


def invalid_utf8_text(_: Workspace) -> bytes:
    junk = b" \xff\xfe\xc0\xaf\x80\x80 \xed\xa0\x80 \xf8\x88\x80\x80\x80 "
    return WORDS.encode() + junk + WORDS.encode() + b" \xe2\x82"


def nul_after_sniff_text(_: Workspace) -> bytes:
    # Past the 64 KB the upload check reads: a NUL there must not reach PostgreSQL.
    return (WORDS.encode() + b"\n") * 900 + b"\x00\x00\x00 trailing words after the nul"


def self_length_pdf(_: Workspace) -> bytes:
    """The content stream's /Length is a reference to the stream itself."""
    objects = page_objects()
    objects[3] = b"<< /Length 4 0 R >>\nstream\n" + text_content() + b"\nendstream"
    return pdf(objects)


def sparse(name: str, size: int, head: bytes = b"") -> Callable[[Workspace], Path]:
    return lambda ws: sparse_file(ws.directory / name, size, head)
