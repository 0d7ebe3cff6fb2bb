"""Page images drawn from known text, as a scanner or a phone camera would deliver them.

Used by the OCR tests and by bench/ocr.py. Text is drawn with a TrueType font: Debian's
DejaVu when fonts-dejavu-core is installed (it is on the project's machines), otherwise the
scalable font Pillow bundles (``ImageFont.load_default(size=...)``, Pillow >= 10.1), so the
images never depend on a font that may be missing. Nothing is stored in the repository.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = [
    "PAGE_INCHES",
    "font",
    "page_image",
    "photo_jpeg",
    "png_bytes",
    "scanned_pdf",
    "tiff_bytes",
    "typeset",
    "wrap",
]

PAGE_INCHES = (8.27, 11.69)  # A4
MARGIN_INCHES = 0.9
_FONT_FILES = {
    "sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
}

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


def font(size_px: int, family: str = "sans") -> FontType:
    """A scalable font of ``size_px`` pixels: DejaVu if installed, else Pillow's own."""
    path = _FONT_FILES.get(family, "")
    if path and Path(path).is_file():
        return ImageFont.truetype(path, size_px)
    return ImageFont.load_default(size=size_px)


def wrap(paragraph: str, face: FontType, width_px: float) -> list[str]:
    """The paragraph's words in lines no wider than ``width_px``."""
    lines: list[str] = []
    current = ""
    for word in paragraph.split():
        candidate = f"{current} {word}".strip()
        if current and face.getlength(candidate) > width_px:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def page_image(paragraphs: Sequence[str], **options: Any) -> Image.Image:
    """A grey page (A4 at ``dpi``) with the paragraphs typeset on it, top to bottom; the
    options are ``typeset``'s (``rotate``, ``noise`` and ``blur`` make it look photographed)."""
    return typeset(paragraphs, **options)[0]


def typeset(
    paragraphs: Sequence[str],
    *,
    dpi: int = 200,
    points: float = 12,
    family: str = "sans",
    rotate: float = 0.0,
    noise: float = 0.0,
    blur: float = 0.0,
    seed: int = 0,
) -> tuple[Image.Image, str]:
    """``page_image`` and the text that fitted on the page (lines joined by spaces)."""
    width, height = round(PAGE_INCHES[0] * dpi), round(PAGE_INCHES[1] * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    face = font(round(points * dpi / 72), family)
    margin = round(MARGIN_INCHES * dpi)
    line_height = round(points * dpi / 72 * 1.5)
    y = margin
    drawn: list[str] = []
    for paragraph in paragraphs:
        for line in wrap(paragraph, face, width - 2 * margin):
            if y + line_height > height - margin:
                break
            draw.text((margin, y), line, font=face, fill=20)
            drawn.append(line)
            y += line_height
        y += line_height // 2
    return _degrade(image, rotate=rotate, noise=noise, blur=blur, seed=seed), " ".join(drawn)


def _degrade(
    image: Image.Image, *, rotate: float, noise: float, blur: float, seed: int
) -> Image.Image:
    if rotate:
        image = image.rotate(rotate, resample=Image.Resampling.BICUBIC, fillcolor=255)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        _speckle(image, noise, seed)
    return image


def _speckle(image: Image.Image, share: float, seed: int) -> None:
    rng = random.Random(seed)
    width, height = image.size
    pixels = image.load()
    assert pixels is not None
    for _ in range(int(width * height * share)):
        pixels[rng.randrange(width), rng.randrange(height)] = rng.randrange(0, 120)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def photo_jpeg(paragraphs: Sequence[str], *, dpi: int = 150, quality: int = 80) -> bytes:
    """A JPEG like a phone photo of a printed page: tilted, speckled, soft, in colour."""
    grey = page_image(paragraphs, dpi=dpi, rotate=1.5, noise=0.002, blur=0.6, seed=7)
    colour = Image.merge(
        "RGB", (grey, grey.point(lambda v: v * 0.97), grey.point(lambda v: v * 0.9))
    )
    buffer = io.BytesIO()
    colour.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def tiff_bytes(pages: Sequence[Image.Image]) -> bytes:
    """A multi-page TIFF (one frame per page), Group 4 compressed like office scanners write."""
    frames = [page.convert("1") for page in pages]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="TIFF", save_all=True, append_images=frames[1:], compression="group4"
    )
    return buffer.getvalue()


def scanned_pdf(pages: Sequence[Image.Image], *, dpi: int = 200) -> bytes:
    """An image-only PDF (no text layer), one scanned page per image, as a scanner writes."""
    buffer = io.BytesIO()
    first, *rest = [page.convert("L") for page in pages]
    first.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=dpi)
    return buffer.getvalue()
