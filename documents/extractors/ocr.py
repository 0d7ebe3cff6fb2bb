"""Recognise pages of a scanned PDF or an image, in order, each block keeping its page.

Runs in the sandbox (documents/sandbox_host.py serves OCR requests with this), with the
OCR limits the caller sends. PDF pages are rendered by PDFium at the requested dpi in grey
(never above MAX_RENDER_PIXELS: a page the size of a wall is rendered smaller); image
frames are used as they are, turned upright by their EXIF orientation, transparency laid
on white. Hyphenated line ends are joined as for PDF text. Pure Python, no Django.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from documents import formats
from documents.extractors.base import ExtractionError, ExtractionResult, TextBlock, normalize_text
from documents.extractors.image import check_size
from documents.extractors.ocr_engines import OcrOptions, open_engine
from documents.extractors.pdf_layout import join_hyphenated

__all__ = ["MAX_RENDER_PIXELS", "page_images", "recognise"]

MAX_RENDER_PIXELS = 40_000_000
_POINTS_PER_INCH = 72


def recognise(
    path: Path, content_type: str, pages: Sequence[int], options: OcrOptions
) -> ExtractionResult:
    """The text of ``pages`` (1-based, in the order given), one block per page with text."""
    engine = open_engine(options)
    blocks: list[TextBlock] = []
    try:
        for number, image, dpi in page_images(path, content_type, pages, options.dpi):
            text = join_hyphenated(normalize_text(engine.read(image, dpi)))
            if text:
                blocks.append(TextBlock(text=text, page=number, section=""))
    except (ExtractionError, MemoryError):
        raise
    except Exception as exc:
        if "bad_alloc" in str(exc):  # ONNX Runtime (C++) past the memory limit
            raise MemoryError from None
        raise _unreadable(content_type) from None
    finally:
        engine.close()
    return ExtractionResult(blocks, len(pages), f"ocr:{engine.name}")


def _unreadable(content_type: str) -> ExtractionError:
    entry = formats.BY_CONTENT_TYPE.get(content_type)
    return ExtractionError(
        f"The {entry.noun if entry else 'file'}'s pages could not be read for text recognition; "
        "it may be damaged. Save it again from the application that created it and upload "
        "the new copy."
    )


def page_images(
    path: Path, content_type: str, pages: Sequence[int], dpi: int
) -> Iterator[tuple[int, Image.Image, int]]:
    """(page number, grey image, its dpi) for each requested page, in order."""
    if content_type == formats.PDF:
        yield from _pdf_pages(path, pages, dpi)
    else:
        yield from _image_frames(path, pages)


def _pdf_pages(
    path: Path, pages: Sequence[int], dpi: int
) -> Iterator[tuple[int, Image.Image, int]]:
    document = pdfium.PdfDocument(path)
    try:
        for number in pages:
            page = document[number - 1]
            try:
                width, height = page.get_size()
                fit = math.sqrt(MAX_RENDER_PIXELS / max(width * height, 1.0))
                scale = min(dpi / _POINTS_PER_INCH, fit)
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil().convert("L")
                bitmap.close()
            finally:
                page.close()
            yield number, image, round(scale * _POINTS_PER_INCH)
    finally:
        document.close()


def _image_frames(path: Path, pages: Sequence[int]) -> Iterator[tuple[int, Image.Image, int]]:
    with Image.open(path) as image:
        for number in pages:
            image.seek(number - 1)
            check_size(image, number)
            frame = ImageOps.exif_transpose(image)  # a photo taken sideways, upright
            yield number, _grey(frame), _resolution(frame)


def _grey(image: Image.Image) -> Image.Image:
    """8-bit grey; transparent pixels become white paper, deep greys are scaled down."""
    if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("L")
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = float(values.max()) or 1.0
        return Image.fromarray(np.clip(values * 255 / peak, 0, 255).astype(np.uint8), "L")
    return image.convert("L")


def _resolution(image: Image.Image) -> int:
    """The image's dpi when it says a plausible one, else the dpi of an A4-wide page."""
    stated = image.info.get("dpi")
    try:
        dpi = round(float(stated[0])) if stated else 0
    except (TypeError, ValueError, IndexError):
        dpi = 0
    if 70 <= dpi <= 1200:
        return dpi
    return max(70, min(600, round(image.size[0] / 8.27)))
