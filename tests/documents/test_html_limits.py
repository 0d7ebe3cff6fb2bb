"""HTML beyond libxml2's default limits (256 levels of nesting, 10 MB text nodes): the
whole text is extracted, or the page fails with a sentence; text is never dropped while
the document is reported ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from documents import filetypes
from documents.extractors.base import ExtractionError
from documents.extractors.registry import extract_file
from documents.sandbox import extract_in_sandbox
from tests.documents import samples


def _nested(depth: int, tag: str = "div") -> bytes:
    return (
        "<html><body><h1>Title</h1><p>before the nesting</p>"
        + f"<{tag}>" * depth
        + "deep inner text"
        + f"</{tag}>" * depth
        + "<p>after the nesting</p></body></html>"
    ).encode()


def _text(tmp_path: Path, data: bytes) -> str:
    result = extract_file(samples.write(tmp_path, "a.html", data), filetypes.HTML)
    return "\n".join(block.text for block in result.blocks)


@pytest.mark.parametrize("depth", [200, 254, 255, 300, 1000, 2000])
def test_deep_nesting_keeps_every_text(tmp_path: Path, depth: int) -> None:
    text = _text(tmp_path, _nested(depth))
    assert "before the nesting" in text
    assert "deep inner text" in text
    assert "after the nesting" in text


def test_hundreds_of_unclosed_font_tags_keep_the_end_of_the_page(tmp_path: Path) -> None:
    page = "<html><body>" + "<font>word " * 1000 + "the last sentence.</body></html>"
    text = _text(tmp_path, page.encode())
    assert text.count("word") == 1000
    assert text.endswith("the last sentence.")


@pytest.mark.parametrize("depth", [2100, 50_000])
def test_nesting_beyond_the_limit_fails_with_a_sentence(tmp_path: Path, depth: int) -> None:
    path = samples.write(tmp_path, "a.html", _nested(depth))
    with pytest.raises(ExtractionError, match=r"nested too deeply \(more than 2,048 levels"):
        extract_file(path, filetypes.HTML)


def test_the_sentence_crosses_the_sandbox(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "a.html", _nested(50_000, "span"))
    with pytest.raises(ExtractionError, match="nested too deeply"):
        extract_in_sandbox(path, filetypes.HTML, cpu_seconds=30, memory_bytes=1024 * 1024 * 1024)


def test_a_text_node_over_10_mb_is_read_whole(tmp_path: Path) -> None:
    page = "<html><body><p>" + "word " * 2_200_000 + "</p><p>after the long one</p></body></html>"
    text = _text(tmp_path, page.encode())
    assert text.count("word") == 2_200_000
    assert text.endswith("after the long one")
