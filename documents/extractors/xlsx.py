"""Excel (XLSX) extraction with openpyxl in streaming mode (read_only, cached values):
one block per sheet, sheet name as the section, each row a line of " | "-joined cells."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl

from documents import filetypes
from documents.extractors.base import ExtractionError, ExtractionResult, TextBlock
from documents.extractors.csv import ROW_SEPARATOR, row_line
from documents.extractors.zipcheck import ZipLimits, check_ooxml_zip

__all__ = ["XlsxExtractor"]


class XlsxExtractor:
    name = "xlsx:openpyxl"
    content_types = frozenset({filetypes.XLSX})

    def __init__(self, *, zip_limits: ZipLimits | None = None, max_cells: int = 5_000_000) -> None:
        self.zip_limits = zip_limits or ZipLimits()
        self.max_cells = max_cells

    def extract(self, path: Path) -> ExtractionResult:
        check_ooxml_zip(path, self.zip_limits)
        # A file object, not the path: openpyxl refuses paths without an .xlsx suffix,
        # and uploads are stored under server-generated names.
        with path.open("rb") as stream:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
            blocks = []
            cells_left = self.max_cells
            try:
                for sheet in book.worksheets:
                    block, cells_left = self._sheet(sheet, cells_left)
                    if block is not None:
                        blocks.append(block)
            finally:
                book.close()
        return ExtractionResult(blocks=blocks, page_count=None, extractor=self.name)

    def _sheet(self, sheet: Any, cells_left: int) -> tuple[TextBlock | None, int]:
        lines = []
        header: list[str] | None = None  # the sheet's first non-empty row names the columns
        # Ignore the declared dimension: a forged A1:XFD1048576 would pad every row.
        sheet.reset_dimensions()
        for row in sheet.iter_rows(values_only=True):
            cells_left -= len(row)
            if cells_left < 0:
                raise ExtractionError(
                    f"The spreadsheet has more than {self.max_cells:,} cells, which is "
                    "over the limit. Split it into smaller files."
                )
            values = [_cell_text(value) for value in row]
            while values and not values[-1]:
                values.pop()
            if not any(values):
                continue
            if header is None:
                header = values
                lines.append(" | ".join(value for value in values if value))
            else:
                lines.append(row_line(header, values))
        if not lines:
            return None, cells_left
        text = ROW_SEPARATOR.join(lines)  # a row per paragraph, as for CSV
        return TextBlock(text=text, page=None, section=sheet.title), cells_left


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())
