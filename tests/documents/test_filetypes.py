"""Upload type detection by magic bytes, and filename sanitising."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from documents import filetypes
from documents.filetypes import (
    UnsupportedFileType,
    detect_content_type,
    detect_file_content_type,
    sanitize_filename,
)
from tests.documents import samples

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(56) + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("report.pdf", samples.make_pdf(["Hello"]), filetypes.PDF),
        ("REPORT.PDF", samples.make_pdf(["Hello"]), filetypes.PDF),
        ("notes.docx", samples.make_docx(), filetypes.DOCX),
        ("deck.pptx", samples.make_pptx(), filetypes.PPTX),
        ("book.xlsx", samples.make_xlsx(), filetypes.XLSX),
        ("page.html", samples.HTML_SAMPLE, filetypes.HTML),
        ("page.htm", samples.HTML_SAMPLE, filetypes.HTML),
        ("readme.md", samples.MARKDOWN_SAMPLE.encode(), filetypes.MARKDOWN),
        ("people.csv", samples.CSV_SAMPLE.encode(), filetypes.CSV),
        ("notes.txt", "Grüße aus Köln".encode(), filetypes.TEXT),
        ("wide.txt", "UTF-16 text with BOM".encode("utf-16"), filetypes.TEXT),
        ("legacy.txt", "café crème".encode("cp1252"), filetypes.TEXT),
        ("empty.txt", b"", filetypes.TEXT),
        ("no-extension", samples.make_pdf(["Hello"]), filetypes.PDF),
        ("README", b"plain words", filetypes.TEXT),
        ("model.txt", b"MZ-2000 service manual, chapter one.", filetypes.TEXT),
        # Mentioning the PDF marker does not make a text a PDF; a binary preamble before it
        # (which PDF readers skip) still does.
        (
            "howto.md",
            b"# Sniffing\n\nA PDF starts with `%PDF-1.7`, then objects.",
            filetypes.MARKDOWN,
        ),
        ("junk.pdf", b"\x00\x9c\xff junk\n" + samples.make_pdf(["Hello"]), filetypes.PDF),
    ],
)
def test_allowed_files_are_recognised(name: str, data: bytes, expected: str) -> None:
    assert detect_content_type(data[: filetypes.SNIFF_BYTES], name) == expected


@pytest.mark.parametrize("name", ["notes.docx", "deck.pptx", "book.xlsx"])
def test_office_formats_are_told_apart_from_a_short_head(name: str) -> None:
    makers: dict[str, Callable[[], bytes]] = {
        "notes.docx": samples.make_docx,
        "deck.pptx": samples.make_pptx,
        "book.xlsx": samples.make_xlsx,
    }
    data = makers[name]()
    expected = {".docx": filetypes.DOCX, ".pptx": filetypes.PPTX, ".xlsx": filetypes.XLSX}
    assert detect_content_type(data[:1500], name) == expected[Path(name).suffix]


def test_file_detection_reads_the_zip_directory(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "upload.bin", samples.make_pptx())
    assert detect_file_content_type(path, "deck.pptx") == filetypes.PPTX


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("invoice.pdf", ELF, "looks like a Linux executable, not a PDF"),
        ("invoice.pdf", PE, "looks like a Windows executable, not a PDF"),
        ("notes.txt", samples.make_pdf(["Hello"]), "named .txt but contains a PDF"),
        ("report.pdf", b"just some words", "named .pdf but contains plain text"),
        ("book.xlsx", samples.make_docx(), "named .xlsx but contains a Word document"),
        ("photo.txt", b"\x89PNG\r\n\x1a\n" + bytes(100), "named .txt but contains a PNG image"),
        ("scan.png", b"GIF89a" + bytes(100), "looks like a GIF image, not a PNG image"),
        ("scan.tiff", b"just some words", "named .tiff but contains plain text"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "old-format Office"),
        ("setup.exe", PE, "Files ending in .exe are not supported"),
        ("blob.txt", bytes(range(256)) * 4, "a binary file, not a plain text file"),
    ],
)
def test_refused_files_get_an_actionable_sentence(name: str, data: bytes, phrase: str) -> None:
    with pytest.raises(UnsupportedFileType) as caught:
        detect_content_type(data, name)
    message = caught.value.message
    assert phrase in message
    assert message.endswith(".")


def test_executable_message_lists_the_allowed_types() -> None:
    with pytest.raises(UnsupportedFileType) as caught:
        detect_content_type(PE, "invoice.pdf")
    assert caught.value.message == (
        "This file looks like a Windows executable, not a PDF. Upload PDF, DOCX, PPTX, XLSX, "
        "HTML, Markdown, CSV, PNG, JPEG, TIFF or plain text files."
    )


def test_plain_zip_named_docx_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photos/cat.jpg", b"\xff\xd8\xff" + bytes(10))
    with pytest.raises(UnsupportedFileType, match="ZIP archive"):
        detect_content_type(buffer.getvalue(), "notes.docx")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.txt", "evil.txt"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ("re\x00port.pdf", "report.pdf"),
        ("bad\x1b[31mname\x07.txt", "bad[31mname.txt"),
        ("line\r\nbreak.txt", "line break.txt"),
        ("  lots   of \t space .md", "lots of space .md"),
        ("...hidden", "hidden"),
        (".env", "env"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("", "document"),
        ("../", "document"),
        ("\x00\x01\x02", "document"),
        ("...", "document"),
        ("Résumé.docx", "Résumé.docx"),
    ],
)
def test_sanitize_filename(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_long_names_keep_their_extension() -> None:
    cleaned = sanitize_filename("a" * 400 + ".pdf")
    assert len(cleaned) == 255
    assert cleaned.endswith("a.pdf")
    assert sanitize_filename("x" * 50 + ".docx", max_length=20) == "x" * 15 + ".docx"
