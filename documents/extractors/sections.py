"""The heading path shared by formats with headings (DOCX, HTML, Markdown)."""

from __future__ import annotations

__all__ = ["SectionPath"]

SEPARATOR = " > "
MAX_TITLE_CHARS = 200


class SectionPath:
    """A stack of (level, title); entering a heading closes headings at its level or deeper."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> None:
        title = " ".join(title.split())[:MAX_TITLE_CHARS]
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))

    @property
    def path(self) -> str:
        return SEPARATOR.join(title for _, title in self._stack)
