"""The optional ``rapidocr`` OCR engine: PP-OCRv4 detection and recognition models run by
ONNX Runtime, shipped inside the rapidocr-onnxruntime 1.4.4 wheel (Apache-2.0; no download
at first use). Not installed by default: see requirements/ocr-rapid.txt for how, and
docs/ingestion.md "OCR" for why Tesseract is the default.

Settings that matter, found on generated pages (bench/ocr.py): the page is never shrunk
before recognition (rapidocr's default 2,000-pixel cap made its Chinese-trained recogniser
drop the spaces of English lines), and the per-line 180° classifier is off (it flipped
ordinary lines and lost them). Boxes come back line by line; they are put in reading order
here: rows top to bottom, boxes left to right, a blank line where the gap between rows is
wider than a line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from documents.extractors.ocr_engines import OcrOptions

__all__ = ["RapidOcrEngine", "reading_order"]

MAX_SIDE = 10_000  # pixels; larger renders are refused before they get here


class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, options: OcrOptions) -> None:
        from rapidocr_onnxruntime import RapidOCR  # optional: requirements/ocr-rapid.txt

        self._ocr = RapidOCR(max_side_len=MAX_SIDE, intra_op_num_threads=1, inter_op_num_threads=1)

    def read(self, image: Image.Image, dpi: int) -> str:
        result, _elapsed = self._ocr(np.asarray(image.convert("L")), use_cls=False)
        return reading_order(result or [])

    def close(self) -> None:
        del self._ocr


def reading_order(result: list[Any]) -> str:
    """Text of rapidocr's [box, text, score] lines: rows in order, paragraphs by gaps."""
    boxes = []
    for box, text, _score in result:
        ys = [point[1] for point in box]
        boxes.append((min(ys), max(ys), min(point[0] for point in box), str(text)))
    boxes.sort()
    rows: list[list[tuple[float, float, float, str]]] = []
    for box in boxes:
        row = rows[-1] if rows else None
        if row is not None and box[0] < (row[0][0] + row[0][1]) / 2:
            row.append(box)  # starts above the middle of the row's first box: same row
        else:
            rows.append([box])
    lines: list[str] = []
    previous_bottom = None
    for row in rows:
        top, bottom = min(b[0] for b in row), max(b[1] for b in row)
        if previous_bottom is not None and top - previous_bottom > bottom - top:
            lines.append("")
        lines.append(" ".join(b[3] for b in sorted(row, key=lambda b: b[2])))
        previous_bottom = bottom
    return "\n".join(lines)
