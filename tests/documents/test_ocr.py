"""OCR below the pipeline: which PDF pages need it, pictures of pages read with each engine
installed, and recognition in the sandbox under its own CPU and memory limits. Pages are
drawn from known text in the tests (tests/documents/scans.py)."""

from __future__ import annotations

import importlib.util
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fpdf import FPDF
from PIL import Image

from documents import filetypes
from documents.extractors.base import ExtractionError, ExtractionResult
from documents.extractors.image import ImageExtractor
from documents.extractors.ocr import recognise
from documents.extractors.ocr_engines import ENGINES, OcrOptions
from documents.extractors.registry import extract_file
from documents.extractors.text_layer import usable_text
from documents.sandbox import SandboxHost
from tests.documents import samples, scans

A4 = (595.0, 842.0)  # points
PAGE_ONE = ["Turbulent boundary layers on swept wings were measured in the tunnel."]
PAGE_TWO = ["The zephyrometer calibration drifted by three percent after the storm."]


def _engines() -> list[str]:
    names = ["tesseract"]
    if importlib.util.find_spec("rapidocr_onnxruntime") is not None:
        names.append("rapidocr")  # requirements/ocr-rapid.txt, optional
    assert set(names) <= set(ENGINES)
    return names


def words(text: str) -> set[str]:
    return {word.strip(".,").lower() for word in text.split()}


def read(path: Path, content_type: str, engine: str = "tesseract") -> ExtractionResult:
    pages = extract_file(path, content_type).ocr_pages
    return recognise(path, content_type, pages, OcrOptions(engine=engine, dpi=200))


# --- which pages need OCR ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The quick brown fox jumps over the lazy dog. " * 20,
        "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 20,
        "Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί. " * 20,  # noqa: RUF001
        "我们的产品提供了全面的文档搜索功能，支持多种格式和语言。" * 20,  # noqa: RUF001
        "Quarter | Revenue | Cost\n2024-Q1 | 12.5 | 9.1\n2024-Q2 | 13.7 | 9.8\n" * 10,
    ],
    ids=["english", "russian", "greek", "chinese", "table"],
)
def test_a_real_text_layer_is_kept(text: str) -> None:
    assert usable_text(text, *A4)


def _mixed_scripts(count: int) -> str:
    rng = random.Random(3)
    pool = [chr(c) for c in [*range(0x410, 0x44F), *range(0x391, 0x3C9), *range(0x5D0, 0x5EA)]]
    return "".join(rng.choice(pool) + (" " if rng.random() < 0.2 else "") for _ in range(count))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Scanned by CamScanner",
        "\ufffd\ufffd\ufffd abc " * 100,
        "\ue000\ue001\ue002\ue003 " * 100,
        "!#$%&()*+-/<=>?@[]^_{|}~ " * 40,
        _mixed_scripts(1500),
    ],
    ids=["empty", "scanner-stamp", "replacement-chars", "private-use", "symbols", "scripts"],
)
def test_a_missing_thin_or_garbage_text_layer_needs_ocr(text: str) -> None:
    assert not usable_text(text, *A4)


def test_a_mixed_pdf_sends_only_its_scanned_pages_to_ocr(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.add_page()
    for line in range(30):
        pdf.text(15, 20 + 8 * line, f"Line {line} of the typed page about supersonic inlets.")
    pdf.add_page()
    pdf.image(scans.page_image(PAGE_TWO), x=0, y=0, w=210)
    pdf.add_page()
    pdf.text(15, 20, "#%&*+=<>~^|" * 12)  # a symbol font's codes: garbage as text
    path = samples.write(tmp_path, "mixed.pdf", bytes(pdf.output()))
    result = extract_file(path, filetypes.PDF)
    assert result.ocr_pages == [2, 3]
    assert result.blocks[0].page == 1
    assert "supersonic inlets" in result.blocks[0].text


# --- reading pictures of pages ----------------------------------------------------------


@pytest.mark.parametrize("engine", _engines())
def test_each_engine_reads_a_scanned_pdf_page_by_page(engine: str, tmp_path: Path) -> None:
    pages = [scans.page_image(PAGE_ONE), scans.page_image(PAGE_TWO)]
    path = samples.write(tmp_path, "scan.pdf", scans.scanned_pdf(pages))
    result = read(path, filetypes.PDF, engine)
    assert [block.page for block in result.blocks] == [1, 2]
    assert words(PAGE_ONE[0]) <= words(result.blocks[0].text)
    assert words(PAGE_TWO[0]) <= words(result.blocks[1].text)
    assert result.extractor == f"ocr:{engine}"


def test_a_multi_page_tiff_is_read_as_pages(tmp_path: Path) -> None:
    tiff = scans.tiff_bytes([scans.page_image(PAGE_ONE), scans.page_image(PAGE_TWO)])
    path = samples.write(tmp_path, "fax.tiff", tiff)
    result = read(path, filetypes.TIFF)
    assert [(b.page, "zephyrometer" in b.text) for b in result.blocks] == [(1, False), (2, True)]


def test_a_phone_photo_is_read(tmp_path: Path) -> None:
    path = samples.write(tmp_path, "photo.jpg", scans.photo_jpeg(PAGE_TWO))
    (block,) = read(path, filetypes.JPEG).blocks
    assert len(words(PAGE_TWO[0]) - words(block.text)) <= 1


def test_a_sideways_photo_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    upright = scans.page_image(PAGE_TWO, dpi=150)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the camera was held sideways
    buffer = io.BytesIO()
    upright.rotate(90, expand=True).save(buffer, format="JPEG", exif=exif.tobytes())
    path = samples.write(tmp_path, "sideways.jpg", buffer.getvalue())
    assert "zephyrometer" in read(path, filetypes.JPEG).blocks[0].text


def test_a_transparent_png_is_read_on_white_paper(tmp_path: Path) -> None:
    ink = scans.page_image(PAGE_TWO)
    clear = Image.new("RGBA", ink.size, (0, 0, 0, 0))  # black, fully transparent
    clear.putalpha(ink.point(lambda value: 255 - value))  # text: opaque black
    buffer = io.BytesIO()
    clear.save(buffer, format="PNG")
    path = samples.write(tmp_path, "clear.png", buffer.getvalue())
    assert "zephyrometer" in read(path, filetypes.PNG).blocks[0].text


def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("1", (10_000, 8_000), 1).save(buffer, format="PNG")  # 80 MP in ~10 kB
    path = samples.write(tmp_path, "huge.png", buffer.getvalue())
    with pytest.raises(ExtractionError, match=r"80 megapixels\), over the 60-megapixel limit"):
        ImageExtractor().extract(path)


def test_a_damaged_image_fails_with_a_sentence(tmp_path: Path) -> None:
    data = scans.png_bytes(scans.page_image(PAGE_ONE))
    path = samples.write(tmp_path, "cut.png", data[:200])
    with pytest.raises(ExtractionError) as caught:
        read(path, filetypes.PNG)
    assert "damaged" in caught.value.message
    assert caught.value.message.endswith(".")


# --- in the sandbox, under OCR's own limits -----------------------------------------------


@pytest.fixture(scope="module")
def host() -> Iterator[SandboxHost]:
    sandbox = SandboxHost()
    sandbox.start()
    yield sandbox
    sandbox.close()


def _ocr_request(pages: list[int], dpi: int = 200) -> dict[str, object]:
    return {**OcrOptions(dpi=dpi).to_dict(), "pages": pages}


def test_the_sandbox_recognises_the_pages_it_is_asked_for(host, tmp_path: Path) -> None:
    pages = [scans.page_image(PAGE_ONE), scans.page_image(PAGE_TWO)]
    path = samples.write(tmp_path, "scan.pdf", scans.scanned_pdf(pages))
    result = host.extract(path, filetypes.PDF, ocr=_ocr_request([2]))
    assert [(block.page, "zephyrometer" in block.text) for block in result.blocks] == [(2, True)]


def test_ocr_past_its_cpu_limit_is_stopped_with_a_sentence(host, tmp_path: Path) -> None:
    dense = [" ".join(PAGE_TWO * 3)] * 40
    pages = [scans.page_image(dense, points=9) for _ in range(3)]
    path = samples.write(tmp_path, "dense.pdf", scans.scanned_pdf(pages))
    with pytest.raises(ExtractionError) as caught:
        host.extract(
            path, filetypes.PDF, cpu_seconds=1, wall_seconds=60, ocr=_ocr_request([1, 2, 3], 400)
        )
    assert caught.value.message.startswith(
        "Text recognition (OCR) of pages 1, 2, 3 took longer than 1 s of CPU time"
    )


def test_ocr_past_its_memory_limit_is_stopped_with_a_sentence(host, tmp_path: Path) -> None:
    path = samples.write(tmp_path, "scan.pdf", scans.scanned_pdf([scans.page_image(PAGE_ONE)]))
    with pytest.raises(ExtractionError) as caught:  # a 600 dpi render alone is 35 MB
        host.extract(path, filetypes.PDF, memory_bytes=20_000_000, ocr=_ocr_request([1], 600))
    assert caught.value.message.startswith(
        "Text recognition (OCR) of page 1 needed more than 20 MB of memory"
    )
    again = host.extract(path, filetypes.PDF, ocr=_ocr_request([1]))  # the host still serves
    assert "boundary" in again.blocks[0].text
