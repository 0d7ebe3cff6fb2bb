"""Markdown extraction with markdown-it-py (CommonMark + tables): markup removed,
headings (ATX and setext, never "#" lines inside code) build the section path."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from documents import filetypes
from documents.extractors.base import ExtractionResult, TextBlock, normalize_text
from documents.extractors.sections import SectionPath
from documents.extractors.text import read_text

__all__ = ["MarkdownExtractor"]

_TAG = re.compile(r"<[^>\n]{0,500}>")


class MarkdownExtractor:
    name = "markdown:markdown-it"
    content_types = frozenset({filetypes.MARKDOWN})

    def __init__(self, *, max_bytes: int = 50 * 1_048_576) -> None:
        self.max_bytes = max_bytes
        self._parser = MarkdownIt("commonmark").enable("table")

    def extract(self, path: Path) -> ExtractionResult:
        tokens = self._parser.parse(read_text(path, max_bytes=self.max_bytes))
        sections = SectionPath()
        blocks: list[TextBlock] = []
        paragraphs: list[str] = []
        row: list[str] = []
        heading_level: int | None = None
        in_cell = False

        def flush() -> None:
            text = normalize_text("\n\n".join(paragraphs))
            if text:
                blocks.append(TextBlock(text=text, page=None, section=sections.path))
            paragraphs.clear()

        for token in tokens:
            if token.type == "heading_open":
                heading_level = int(token.tag[1:])
            elif token.type == "inline" and heading_level is not None:
                title = " ".join(_inline_text(token).split())
                if title:
                    flush()
                    sections.enter(heading_level, title)
                    paragraphs.append(title)
                heading_level = None
            elif token.type in ("th_open", "td_open", "th_close", "td_close"):
                in_cell = token.type.endswith("_open")
            elif token.type == "inline" and in_cell:
                row.append(" ".join(_inline_text(token).split()))
            elif token.type == "inline":
                paragraphs.append(_inline_text(token))
            elif token.type == "tr_close":
                paragraphs.append(" | ".join(row))
                row = []
            elif token.type in ("fence", "code_block"):
                paragraphs.append(token.content)
            elif token.type == "html_block":
                paragraphs.append(_TAG.sub(" ", token.content))
        flush()
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):  # an image's content is its alt text
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
    return "".join(parts)
