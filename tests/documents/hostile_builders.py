"""Byte-level builders for the hostile corpus (tests/documents/hostile_corpus.py).

Hand-written PDFs (broken cross-reference tables, loops, bombs), zip archives that lie
(overlapping members, sizes that understate), XML that declares entities, images that claim
gigapixels, sparse files, and a multipart body streamed from bytes or a file, so an upload
of a gigabyte never sits in memory and its file name reaches the server byte for byte.
Everything is built at test time; nothing is stored in the repository.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from tests.documents import samples
from tests.documents.samples import pdf_from_objects as pdf

# Enough text per page that the text layer counts as usable (text_layer.py): no OCR.
PAGE_TEXT = (
    "Hostile corpus page about turbulent boundary layers on swept wings, "
    "heat transfer in hypersonic flow and the drag of slender bodies."
)
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MB = 1024 * 1024


# --- PDF ------------------------------------------------------------------------------


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def text_content(text: str = PAGE_TEXT) -> bytes:
    return b"BT /F1 11 Tf 40 720 Td (" + text.encode("latin-1") + b") Tj ET"


def page_objects(
    *, kids: bytes = b"[3 0 R]", count: bytes = b"1", page_extra: bytes = b"", text: str = PAGE_TEXT
) -> list[bytes]:
    """Catalog (1), pages (2), one page (3), its content (4) and font (5)."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids " + kids + b" /Count " + count + b" >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> " + page_extra + b"/Contents 4 0 R >>",
        stream(text_content(text)),
        FONT,
    ]


def pdf_with_xref_stream(*, prev_loop: bool = False, stream_in_itself: bool = False) -> bytes:
    """PDF 1.5: the page and font live in object stream 6, found through a cross-reference
    stream (7). ``prev_loop``: the xref stream's /Prev is itself, and the object stream
    /Extends itself. ``stream_in_itself``: the xref says object 6 is inside object 6."""
    inner = [page_objects()[2], FONT]
    body = b""
    offsets = []
    for item in inner:
        offsets.append(len(body))
        body += item + b"\n"
    header = b"3 %d 5 %d " % (offsets[0], offsets[1])
    extends = b"/Extends 6 0 R " if prev_loop else b""
    objects = {
        1: page_objects()[0],
        2: page_objects()[1],
        4: stream(text_content()),
        6: stream(header + body, b"/Type /ObjStm /N 2 /First %d %s" % (len(header), extends)),
    }
    out = io.BytesIO()
    out.write(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    at = {}
    for number, item in objects.items():
        at[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + item + b"\nendobj\n")
    xref = out.tell()
    own = (2, 6, 2) if stream_in_itself else (1, at[6], 0)
    rows = [(0, 0, 65535), (1, at[1], 0), (1, at[2], 0), (2, 6, 0), (1, at[4], 0)]
    rows += [(2, 6, 1), own, (1, xref, 0)]
    table = b"".join(struct.pack(">BIH", *row) for row in rows)
    prev = b"/Prev %d " % xref if prev_loop else b""
    head = b"/Type /XRef /Size 8 /W [1 4 2] /Root 1 0 R " + prev
    out.write(b"7 0 obj\n" + stream(table, head) + b"\nendobj\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def pdf_outline_loop() -> bytes:
    """A bookmark that is its own next sibling and its own first child."""
    objects = page_objects()
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>"
    objects.append(b"<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>")
    objects.append(
        b"<< /Title (Loop\\000ing bookmark) /Parent 6 0 R /Next 7 0 R /First 7 0 R "
        b"/Dest [3 0 R /XYZ 0 792 0] >>"
    )
    return pdf(objects)


def pdf_flate_bomb(expanded_mb: int) -> bytes:
    """The page's content stream inflates to ``expanded_mb`` MB (spaces after the text)."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(text_content() + b"\n")]
    block = b" " * MB
    parts += [packer.compress(block) for _ in range(expanded_mb)]
    parts.append(packer.flush())
    objects = page_objects()
    objects[3] = stream(b"".join(parts), b"/Filter /FlateDecode ")
    return pdf(objects)


def pdf_many_pages(count: int) -> bytes:
    """``count`` pages sharing one content stream and font."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", stream(text_content()), FONT]
    first = len(objects) + 1
    kids = b" ".join(b"%d 0 R" % n for n in range(first, first + count))
    objects[1] = b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % count
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 3 0 R >>"
    )
    objects += [page] * count
    return pdf(objects)


# --- zip-based (Office) formats -------------------------------------------------------


def add_member(archive: bytes, name: str, data: bytes, *, stored: bool = False) -> bytes:
    out = io.BytesIO(archive)
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "a", method) as target:
        target.writestr(name, data)
    return out.getvalue()


def add_members(archive: bytes, count: int) -> bytes:
    """``count`` more tiny parts (stored, so the compression-ratio check does not fire)."""
    out = io.BytesIO(archive)
    with zipfile.ZipFile(out, "a", zipfile.ZIP_STORED) as target:
        for number in range(count):
            target.writestr(f"customXml/item{number}.xml", b"<a/>")
    return out.getvalue()


def member(archive: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        return source.read(name)


def ratio_bomb(archive: bytes, name: str, expanded_mb: int) -> bytes:
    """One more member of ``expanded_mb`` MB of zeros (about 1000:1)."""
    out = io.BytesIO(archive)
    block = bytes(MB)
    with (
        zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as target,
        target.open(name, "w", force_zip64=True) as written,
    ):
        for _ in range(expanded_mb):
            written.write(block)
    return out.getvalue()


def overlapped_zip(names: Sequence[str], kernel_mb: int = 1) -> bytes:
    """One deflated member of ``kernel_mb`` MB of zeros that every central-directory entry
    points at (a "better zip bomb": the archive is tiny, its declared size is not)."""
    plain = bytes(kernel_mb * MB)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    data = packer.compress(plain) + packer.flush()
    crc, size = zlib.crc32(plain), len(plain)
    first = names[0].encode()
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(first), 0
    )
    body = local + first + data
    directory = b""
    for name in names:
        encoded = name.encode()
        directory += struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            *(b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded)),
            *(0, 0, 0, 0, 0, 0),
        )
        directory += encoded
    end = struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(names), len(names), len(directory), len(body), 0
    )
    return body + directory + end


def understated_sizes(archive: bytes, name: str, declared: int) -> bytes:
    """The member's uncompressed size declared as ``declared`` bytes in both headers."""
    with zipfile.ZipFile(io.BytesIO(archive)) as source:
        local = source.getinfo(name).header_offset
    patched = bytearray(archive)
    struct.pack_into("<I", patched, local + 22, declared)
    position = archive.find(b"PK\x01\x02")
    while position != -1:
        length = struct.unpack_from("<H", archive, position + 28)[0]
        if archive[position + 46 : position + 46 + length] == name.encode():
            struct.pack_into("<I", patched, position + 24, declared)
        position = archive.find(b"PK\x01\x02", position + 4)
    return bytes(patched)


def docx_body(body_xml: str, *, prolog: str = "") -> bytes:
    """A DOCX whose document.xml is ``prolog`` then a body of ``body_xml``."""
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
        f'<w:document xmlns:w="{W_NS}"><w:body>{body_xml}</w:body></w:document>'
    )
    return samples.replace_member(samples.make_docx(), "word/document.xml", xml.encode())


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def with_doctype(xml: bytes, doctype: str) -> bytes:
    """The XML part with ``doctype`` right after its declaration (or at its start)."""
    if xml.startswith(b"<?xml"):
        end = xml.index(b"?>") + 2
        return xml[:end] + doctype.encode() + xml[end:]
    return doctype.encode() + xml


def xxe_doctype(root: str, target: str) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>'


def laughs_doctype(root: str, levels: int = 9) -> str:
    """The billion laughs: each entity is ten of the one before."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return f"<!DOCTYPE {root} [{''.join(entities)}]>"


def ooxml_with_doctype(archive: bytes, name: str, doctype: str, reference: str) -> bytes:
    """``name``'s XML with ``doctype`` declared and ``reference`` (an entity) put into its
    first text (a <t> or <a:t> element)."""
    xml = with_doctype(member(archive, name), doctype)
    for tag in (b"<t>", b"<a:t>", b"<w:t>"):
        if tag in xml:
            xml = xml.replace(tag, tag + reference.encode(), 1)
            break
    return samples.replace_member(archive, name, xml)


# --- images -----------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes of PNG whose header claims ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(bytes(1000)))
        + _png_chunk(b"IEND", b"")
    )


def tiff_frames(count: int) -> bytes:
    frames = [Image.new("L", (8, 8), 255) for _ in range(count)]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


# --- sparse files and streamed multipart bodies ---------------------------------------


def sparse_file(path: Path, size: int, head: bytes = b"") -> Path:
    """A file of ``size`` bytes, ``head`` then a hole (no disk blocks for the zeros)."""
    with path.open("wb") as out:
        out.write(head)
        out.truncate(size)
    return path


def quoted_name(name: str) -> bytes:
    """The file name as browsers put it in a multipart header (HTML's form encoding)."""
    escaped = name.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")
    return escaped.encode("utf-8", "surrogatepass")


class MultipartBody(io.RawIOBase):
    """A multipart/form-data body with one file (bytes, or a file read as it is sent)."""

    BOUNDARY = "hostile-corpus-boundary-7f3a"

    def __init__(self, field: str, name: str, content: bytes | Path) -> None:
        super().__init__()
        head = (
            f"--{self.BOUNDARY}\r\n".encode()
            + f'Content-Disposition: form-data; name="{field}"; filename="'.encode()
            + quoted_name(name)
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        tail = f"\r\n--{self.BOUNDARY}--\r\n".encode()
        size = content.stat().st_size if isinstance(content, Path) else len(content)
        self.length = len(head) + size + len(tail)
        middle: io.IOBase = content.open("rb") if isinstance(content, Path) else io.BytesIO(content)
        self._parts: list[io.IOBase] = [io.BytesIO(head), middle, io.BytesIO(tail)]

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.BOUNDARY}"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._parts:
            count = self._parts[0].readinto(buffer)  # type: ignore[attr-defined]
            if count:
                return int(count)
            self._parts.pop(0).close()
        return 0

    def close(self) -> None:
        for part in self._parts:
            part.close()
        self._parts = []
        super().close()
