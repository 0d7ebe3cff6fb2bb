"""Cleaner PDF text: running headers and footers dropped, hyphenated line ends joined, and
the PDF's bookmarks read as the sections citations show."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from documents.extractors.pdf import PdfExtractor
from documents.extractors.pdf_layout import drop_running_lines, join_hyphenated, running_lines

CHAPTERS = {1: "Leave", 3: "Expenses"}  # page → the chapter starting there
BODY = {
    1: "Everyone has thirty days of paid leave a year.",
    2: "Unused days carry over until the end of March.",
    3: "Claims are filed in the finance portal.",
    4: "Every claim needs a receipt and the approval of a manager.",
    5: "Refunds arrive with the next salary payment.",
}


def _handbook(tmp_path: Path) -> Path:
    """Five pages with a running head naming the chapter, a numbered footer, a bookmark per
    chapter and section, and a word hyphenated across a line end."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    chapter = ""
    for number in range(1, 6):
        pdf.add_page()
        chapter = CHAPTERS.get(number, chapter)
        pdf.text(15, 12, f"Acme Staff Handbook - Chapter: {chapter}")
        y = 30.0
        if number in CHAPTERS:
            pdf.set_y(y - 5)
            pdf.start_section(chapter, level=0)
            pdf.text(15, y, chapter)
            y += 10
        if number == 4:
            pdf.start_section("Receipts", level=1)
            pdf.text(15, y, "Receipts")
            y += 10
        lines = [BODY[number]]
        if number == 4:
            lines += [
                "The finance team checks the amounts, and the manip-",
                "ulation of receipts is a disciplinary matter.",
            ]
        for line in lines:
            pdf.text(15, y, line)
            y += 6
        pdf.text(95, 285, f"Page {number} of 5")
    path = tmp_path / "handbook.pdf"
    pdf.output(str(path))
    return path


def test_running_heads_and_page_footers_are_dropped(tmp_path: Path) -> None:
    result = PdfExtractor().extract(_handbook(tmp_path))
    text = "\n".join(block.text for block in result.blocks)
    assert "Acme Staff Handbook" not in text
    assert "Page 3 of 5" not in text
    for body in BODY.values():
        assert body in text  # the body stays


def test_words_hyphenated_across_line_ends_are_joined(tmp_path: Path) -> None:
    result = PdfExtractor().extract(_handbook(tmp_path))
    text = " ".join(block.text for block in result.blocks)
    assert "manipulation of receipts" in text
    assert "manip-" not in text
    assert (
        join_hyphenated("a well-\nknown fact and Anglo-\nSaxon")
        == "a wellknown fact and Anglo-\nSaxon"
    )


def test_bookmarks_become_the_sections_of_the_text_under_them(tmp_path: Path) -> None:
    result = PdfExtractor().extract(_handbook(tmp_path))
    by_page: dict[int | None, list[str]] = {}
    for block in result.blocks:
        by_page.setdefault(block.page, []).append(block.section)
    assert by_page[1] == ["Leave"]
    assert by_page[2] == ["Leave"]
    assert by_page[3] == ["Expenses"]
    assert by_page[4] == ["Expenses > Receipts"]
    assert by_page[5] == ["Expenses > Receipts"]
    receipts = next(b for b in result.blocks if b.section == "Expenses > Receipts")
    assert receipts.text.startswith(f"Receipts\n{BODY[4]}")


def test_a_line_goes_only_when_the_lines_outside_it_go_too() -> None:
    topics = ["leave", "travel", "expenses", "security"]
    pages = [
        f"Manual v2 page {n}\nAbout {topic}.\nThe same sentence in the middle.\nEnd of {topic}."
        for n, topic in enumerate(topics, start=1)
    ]
    pages[1] = "A chapter opening without the running head.\n" + pages[1]
    pages = [page + "\nAcme Corp confidential" for page in pages]
    running = running_lines(pages)
    assert ("t", 0, "manual v# page #") in running
    assert ("b", 0, "acme corp confidential") in running
    text, dropped = drop_running_lines(pages[0], running)
    assert dropped == 2
    assert text.split("\n") == ["About leave.", "The same sentence in the middle.", "End of leave."]
    # Below a line that is not running, a running head's text is kept.
    assert "Manual v2 page 2" in drop_running_lines(pages[1], running)[0]
    assert running_lines(pages[:2]) == set()  # two pages: nothing to compare
