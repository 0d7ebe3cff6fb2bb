"""PNG, JPEG and TIFF uploads: pictures of pages, read by the OCR stage.

Extraction only opens the image with Pillow and checks its size (each TIFF frame is a
page): every page goes to ``ocr_pages``, and documents/ocr_stage.py has them recognised in
the sandbox (extractors/ocr.py). A frame larger than MAX_PIXELS is refused before any pixel
is decoded: a few kilobytes of PNG can claim gigapixels.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from documents import formats
from documents.extractors.base import ExtractionError, ExtractionResult

__all__ = ["MAX_FRAMES", "MAX_PIXELS", "ImageExtractor", "check_size"]

MAX_PIXELS = 60_000_000  # an A4 page at 600 dpi is 35 megapixels
MAX_FRAMES = 5_000  # the PDF page limit


def check_size(image: Image.Image, number: int) -> None:
    """Refuse a frame over MAX_PIXELS, naming its page when there are several."""
    width, height = image.size
    if width * height > MAX_PIXELS:
        where = f"Page {number} of the image" if number > 1 else "The image"
        raise ExtractionError(
            f"{where} is {width:,} by {height:,} pixels ({width * height / 1e6:,.0f} "
            f"megapixels), over the {MAX_PIXELS // 1_000_000}-megapixel limit. Scale it "
            "down (300 dpi is plenty for text) and upload it again."
        )
    if width < 1 or height < 1:
        raise ExtractionError("The image has no pixels. Check that the right file was uploaded.")


class ImageExtractor:
    name = "image:pillow"
    content_types = frozenset({formats.PNG, formats.JPEG, formats.TIFF})

    def extract(self, path: Path) -> ExtractionResult:
        try:
            with Image.open(path) as image:
                frames = int(getattr(image, "n_frames", 1))
                if frames > MAX_FRAMES:
                    raise ExtractionError(
                        f"The image has {frames:,} pages, which is over the "
                        f"{MAX_FRAMES:,}-page limit. Split it into smaller files."
                    )
                for number in range(1, frames + 1):
                    image.seek(number - 1)
                    check_size(image, number)
        except Image.DecompressionBombError:
            # Pillow refuses (before our own check can) an image over twice its own limit.
            raise ExtractionError(
                f"The image is over the {MAX_PIXELS // 1_000_000}-megapixel limit (it claims "
                "far more pixels than a page needs). Scale it down (300 dpi is plenty for "
                "text) and upload it again."
            ) from None
        except (UnidentifiedImageError, EOFError):
            raise ExtractionError(
                "The image could not be opened; it may be damaged or incomplete. Check that "
                "the upload finished, or save the picture again as PNG or JPEG."
            ) from None
        pages = list(range(1, frames + 1))
        return ExtractionResult([], frames, self.name, ocr_pages=pages)
