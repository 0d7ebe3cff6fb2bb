"""Each format's extractor, run in-process: pages, sections, and clear failures."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest

from documents import filetypes
from documents.extractors.base import ExtractionError, ExtractionResult, TextBlock
from documents.extractors.registry import (
    extract_file,
    get_extractor,
    register,
    supported_content_types,
)
from tests.documents import samples


def extract(tmp_path: Path, name: str, data: bytes, content_type: str) -> ExtractionResult:
    return extract_file(samples.write(tmp_path, name, data), content_type)


def all_text(result: ExtractionResult) -> str:
    return "\n".join(block.text for block in result.blocks)


def test_every_allowed_type_has_an_extractor() -> None:
    assert supported_content_types() >= filetypes.ALLOWED_TYPES


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="cannot be read"):
        get_extractor("application/x-unknown")


def test_a_new_format_is_one_registration(tmp_path: Path) -> None:
    class Reverse:
        name = "reverse:test"
        content_types = frozenset({"application/x-test-reverse"})

        def extract(self, path: Path) -> ExtractionResult:
            text = path.read_text()[::-1]
            return ExtractionResult([TextBlock(text, None, "")], None, self.name)

    register(Reverse(), replace=True)
    result = extract(tmp_path, "a.rev", b"olleh", "application/x-test-reverse")
    assert all_text(result) == "hello"


# --- PDF ---


def test_pdf_pages_are_numbered_from_one(tmp_path: Path) -> None:
    data = samples.make_multipage_pdf(page_count=12, sentences=5)
    result = extract(tmp_path, "a.pdf", data, filetypes.PDF)
    assert result.extractor == "pdf:pypdfium2"
    assert result.page_count == 12
    assert [block.page for block in result.blocks] == list(range(1, 13))
    for block in result.blocks:
        assert f"zq{block.page}x" in block.text


def test_scanned_pdf_pages_are_left_to_ocr(tmp_path: Path) -> None:
    result = extract(tmp_path, "scan.pdf", samples.make_image_only_pdf(), filetypes.PDF)
    assert (result.blocks, result.page_count, result.ocr_pages) == ([], 2, [1, 2])


def test_pdf_of_blank_pages_says_it_has_no_text(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"no extractable text \(scanned\?\)"):
        extract(tmp_path, "blank.pdf", samples.make_blank_pdf(), filetypes.PDF)


def test_truncated_pdf_is_a_human_sentence(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract(tmp_path, "cut.pdf", samples.make_truncated_pdf(), filetypes.PDF)
    message = caught.value.message
    assert "damaged or incomplete" in message
    assert "Pdfium" not in message
    assert "Traceback" not in message


def test_garbage_pdf_is_a_human_sentence(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="damaged or incomplete"):
        extract(tmp_path, "x.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 20, filetypes.PDF)


# --- Office ---


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    data = samples.make_docx(table=[["Quarter", "Revenue"], ["Q1", "10"]])
    result = extract(tmp_path, "a.docx", data, filetypes.DOCX)
    sections = {block.section: block.text for block in result.blocks}
    assert "Revenue grew by twelve percent." in sections["Quarterly Report > Revenue"]
    assert "Europe led the growth." in sections["Quarterly Report > Revenue > By region"]
    assert "Costs stayed flat." in sections["Quarterly Report > Costs"]
    assert "Quarter | Revenue\nQ1 | 10" in sections["Quarterly Report > Costs"]
    assert all(block.page is None for block in result.blocks)


def test_docx_xxe_never_reads_local_files(tmp_path: Path) -> None:
    secret = samples.write(tmp_path, "secret.txt", b"TOP-SECRET-MARKER")
    data = samples.make_xxe_docx(target=secret.as_uri())
    path = samples.write(tmp_path, "xxe.docx", data)
    # The library itself leaves the entity unresolved...
    paragraphs = [p.text for p in docx.Document(str(path)).paragraphs]
    assert not any("TOP-SECRET-MARKER" in text for text in paragraphs)
    # ...and our pre-scan refuses the file outright.
    with pytest.raises(ExtractionError, match="document type declaration"):
        extract_file(path, filetypes.DOCX)


def test_docx_xxe_on_etc_passwd(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "xxe.docx", samples.make_xxe_docx())
    text = "\n".join(p.text for p in docx.Document(str(path)).paragraphs)
    assert samples.PASSWD_MARKER not in text
    with pytest.raises(ExtractionError) as caught:
        extract_file(path, filetypes.DOCX)
    assert samples.PASSWD_MARKER not in caught.value.message


def test_corrupt_docx_is_a_human_sentence(tmp_path: Path) -> None:
    data = samples.make_docx()[:5000]
    with pytest.raises(ExtractionError, match="not a valid Office document"):
        extract(tmp_path, "cut.docx", data, filetypes.DOCX)


def test_pptx_slides_are_pages_and_titles_are_sections(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.pptx", samples.make_pptx(), filetypes.PPTX)
    assert result.page_count == 3
    assert [(b.page, b.section) for b in result.blocks] == [
        (1, "Welcome"),
        (2, "Roadmap"),
        (3, ""),
    ]
    assert "Ship answers in May." in result.blocks[1].text


def test_xlsx_sheets_are_sections_and_rows_carry_their_header(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.xlsx", samples.make_xlsx(), filetypes.XLSX)
    sheets = {block.section: block.text for block in result.blocks}
    assert sheets["Sales"].split("\n\n") == [  # a row per paragraph
        "Region | Units | Price",
        "Region: North | Units: 10 | Price: 2.5",
        "Region: South | Units: 7 | Price: 3",
    ]
    assert "Grace" in sheets["Staff"]


# --- text formats ---


def test_html_drops_scripts_and_keeps_heading_sections(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.html", samples.HTML_SAMPLE, filetypes.HTML)
    text = all_text(result)
    assert "must-vanish" not in text
    assert "color: red" not in text
    sections = {block.section: block.text for block in result.blocks}
    assert "Run the installer first." in sections["Install"]
    assert "Open a terminal." in sections["Install > Linux"]
    assert "Search & ask questions." in sections["Use"]
    assert "F1 | Help" in sections["Use"]


def test_html_entities_from_a_doctype_are_not_resolved(tmp_path: Path) -> None:
    page = (
        b'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<html><body><p>Hello &xxe; world</p></body></html>"
    )
    text = all_text(extract(tmp_path, "a.html", page, filetypes.HTML))
    assert samples.PASSWD_MARKER not in text
    assert "Hello" in text


def test_html_charset_from_meta(tmp_path: Path) -> None:
    page = '<meta charset="windows-1252"><p>Caf\xe9 cr\xe8me</p>'.encode("cp1252")
    assert all_text(extract(tmp_path, "a.html", page, filetypes.HTML)) == "Café crème"


@pytest.mark.parametrize("label", ["utf-16", "utf-16be", "utf-32", "utf-7", "idna", "bogus"])
def test_html_charset_labels_no_browser_applies_are_ignored(tmp_path: Path, label: str) -> None:
    # Read as UTF-16 the page was CJK nonsense; read as idna it failed as damaged.
    page = f'<meta charset="{label}"><p>Café crème, +ADw-script+AD4-</p>'.encode()
    text = all_text(extract(tmp_path, "a.html", page, filetypes.HTML))
    assert text == "Café crème, +ADw-script+AD4-"


def test_markdown_headings_become_sections(tmp_path: Path) -> None:
    data = samples.MARKDOWN_SAMPLE.encode()
    result = extract(tmp_path, "a.md", data, filetypes.MARKDOWN)
    sections = {block.section: block.text for block in result.blocks}
    assert set(sections) == {"Handbook", "Handbook > Holidays", "Handbook > Expenses"}
    assert "# not a heading inside code" in sections["Handbook > Holidays"]
    assert "Submit receipts monthly." in sections["Handbook > Expenses"]


def test_csv_rows_carry_their_header(tmp_path: Path) -> None:
    result = extract(tmp_path, "a.csv", samples.CSV_SAMPLE.encode(), filetypes.CSV)
    assert all_text(result).split("\n\n") == [  # a row per paragraph
        "name: Ada | city: London | age: 36",
        "name: Linus | city: Helsinki | age: 54",
    ]


@pytest.mark.parametrize(
    "data",
    [
        "Grüße, café\r\nzweite Zeile".encode(),
        "Grüße, café\r\nzweite Zeile".encode("utf-8-sig"),
        "Grüße, café\r\nzweite Zeile".encode("utf-16"),
        "Grüße, café\r\nzweite Zeile".encode("utf-32"),
        "Grüße, café\r\nzweite Zeile".encode("cp1252"),
    ],
)
def test_text_encodings_and_line_endings(tmp_path: Path, data: bytes) -> None:
    result = extract(tmp_path, "a.txt", data, filetypes.TEXT)
    assert all_text(result) == "Grüße, café\nzweite Zeile"


def test_empty_text_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match="no extractable text"):
        extract(tmp_path, "a.txt", b"   \n\n ", filetypes.TEXT)


def test_text_over_the_size_limit(tmp_path: Path) -> None:
    from documents.extractors.text import TextExtractor

    path = samples.write(tmp_path, "a.txt", b"word " * 300_000)
    with pytest.raises(ExtractionError, match="over the 1 MB limit"):
        TextExtractor(max_bytes=1_048_576).extract(path)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (samples.make_pdf(["Stored without a suffix."]), filetypes.PDF),
        (samples.make_docx(), filetypes.DOCX),
        (samples.make_pptx(), filetypes.PPTX),
        (samples.make_xlsx(), filetypes.XLSX),
        (samples.HTML_SAMPLE, filetypes.HTML),
        (samples.MARKDOWN_SAMPLE.encode(), filetypes.MARKDOWN),
        (samples.CSV_SAMPLE.encode(), filetypes.CSV),
        (b"Plain words.", filetypes.TEXT),
    ],
)
def test_server_generated_names_without_a_suffix(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    result = extract(tmp_path, "0f3a9c1e-upload", data, content_type)
    assert result.blocks


def test_xlsx_cell_limit(tmp_path: Path) -> None:
    from documents.extractors.xlsx import XlsxExtractor

    path = samples.write(tmp_path, "a.xlsx", samples.make_xlsx())
    with pytest.raises(ExtractionError, match="more than 5 cells"):
        XlsxExtractor(max_cells=5).extract(path)


@pytest.mark.parametrize(
    "data",
    [b"n\n" + b"1\n" * 7, b'a,b\n"1",2\n3,4\n5,6\n7,8\n'],
    ids=["lines, counted unread", "quoted, counted row by row"],
)
def test_csv_cell_limit(tmp_path: Path, data: bytes) -> None:
    from documents.extractors.csv import CsvExtractor

    path = samples.write(tmp_path, "a.csv", data)
    with pytest.raises(ExtractionError, match="The CSV file has more than 5 cells"):
        CsvExtractor(max_cells=5).extract(path)
    assert CsvExtractor(max_cells=8).extract(path).blocks


def test_html_heading_link_marks_stay_out_of_section_names(tmp_path: Path) -> None:
    page = (
        '<html><body><h1>Contents<a class="headerlink" href="#c">\u00b6</a></h1>'
        '<h2>3. Python Packaging<a class="headerlink" href="#p">\u00b6</a></h2>'
        "<p>Use pip to install packages.</p><h2>C#</h2><p>Sharp.</p></body></html>"
    ).encode()
    sections = {block.section for block in extract(tmp_path, "a.html", page, filetypes.HTML).blocks}
    assert "Contents > 3. Python Packaging" in sections
    assert "Contents > C#" in sections  # a real '#' stays
    assert not any("\u00b6" in section for section in sections)


def test_html_definition_terms_read_with_their_definitions(tmp_path: Path) -> None:
    page = (
        b"<html><body><dl><dt><code>connect-timeout=&lt;seconds&gt;</code><dd>Abort the "
        b"connection attempt after the given seconds.<dt>retry<dd>Number of retries.</dl>"
        b"</body></html>"
    )
    result = extract(tmp_path, "manual.html", page, filetypes.HTML)
    assert result.blocks[0].text == (
        "connect-timeout=<seconds> \u2014 Abort the connection attempt after the given seconds."
        "\n\nretry \u2014 Number of retries."
    )
