"""CSV extraction: sniff the dialect, keep the header, write each row as a readable line
"name: Ada | city: London" so every chunk is self-describing without the header. Each row is
a paragraph of its own, so chunks hold whole rows (documents/chunking.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from documents import filetypes
from documents.extractors.base import ExtractionError, ExtractionResult, TextBlock
from documents.extractors.text import read_text

__all__ = ["ROW_SEPARATOR", "CsvExtractor", "row_line"]

SNIFF_CHARS = 16 * 1024
ROW_SEPARATOR = "\n\n"  # a row per paragraph: chunk boundaries fall between rows
DELIMITERS = ",;\t|"


class CsvExtractor:
    name = "csv:stdlib"
    content_types = frozenset({filetypes.CSV})

    def __init__(
        self,
        *,
        max_bytes: int = 100 * 1_048_576,
        max_field_chars: int = 1_000_000,
        max_cells: int = 5_000_000,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_field_chars = max_field_chars
        self.max_cells = max_cells  # as for spreadsheets (xlsx.py)

    def extract(self, path: Path) -> ExtractionResult:
        text = read_text(path, max_bytes=self.max_bytes).replace("\x00", "")
        dialect = _sniff(text[:SNIFF_CHARS])
        # Without a quote every line is a row: millions of short lines are refused unread.
        if (dialect.quotechar or '"') not in text and text.count("\n") - 1 > self.max_cells:
            raise self._too_many_cells()
        # A process-wide setting, but the sandbox child is single-use.
        csv.field_size_limit(self.max_field_chars)
        reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
        lines = []
        cells_left = self.max_cells
        try:
            header = _clean(next(reader, []))
            for row in reader:
                cells_left -= max(1, len(row))  # an empty line costs as much as a cell
                if cells_left < 0:
                    raise self._too_many_cells()
                cells = _clean(row)
                if any(cells):
                    lines.append(row_line(header, cells))
        except csv.Error as exc:
            raise ExtractionError(
                f"The CSV file could not be parsed ({exc}). Check that it is a valid CSV "
                "export and upload it again."
            ) from None
        if not lines and any(header):
            lines.append(" | ".join(cell for cell in header if cell))
        blocks = [TextBlock(text=ROW_SEPARATOR.join(lines), page=None, section="")] if lines else []
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)

    def _too_many_cells(self) -> ExtractionError:
        return ExtractionError(
            f"The CSV file has more than {self.max_cells:,} cells, which is over the limit. "
            "Split it into smaller files."
        )


def _sniff(sample: str) -> type[csv.Dialect]:
    if (cut := sample.rfind("\n")) > 0:
        sample = sample[:cut]  # a partial last line confuses the sniffer
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel


def _clean(row: list[str]) -> list[str]:
    return [" ".join(cell.split()) for cell in row]


def row_line(header: list[str], cells: list[str]) -> str:
    """One row as "column: value | column: value" (empty cells left out)."""
    parts = []
    for index, value in enumerate(cells):
        if not value:
            continue
        name = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        parts.append(f"{name}: {value}")
    return " | ".join(parts)
