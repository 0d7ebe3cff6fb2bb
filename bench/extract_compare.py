"""Compare PDF text extraction libraries, and measure the sandbox's per-file overhead.

    .venv/bin/python bench/extract_compare.py [--pages 300]

1. pypdfium2 vs pypdf on a generated N-page text PDF and on a truncated copy.
2. Sandbox overhead: mean time per call of ``extract_in_sandbox`` vs in-process
   ``extract_file`` on a tiny text file (the reusable worker path) and on a one-page
   PDF (the fresh-worker-per-file path), over --calls calls each.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
from report import markdown_table, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents import filetypes
from documents.extractors.registry import extract_file
from documents.sandbox import extract_in_sandbox, shutdown_sandbox
from tests.documents import samples


def with_pypdfium2(data: bytes) -> int:
    document = pdfium.PdfDocument(data)
    try:
        total = 0
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            total += len(textpage.get_text_range())
            textpage.close()
            page.close()
        return total
    finally:
        document.close()


def with_pypdf(data: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return sum(len(page.extract_text()) for page in reader.pages)


def best_of(runs: int, function: Callable[[], object]) -> tuple[float, str]:
    timings = []
    outcome = ""
    for _ in range(runs):
        started = time.perf_counter()
        try:
            outcome = f"{function()} chars"
        except Exception as exc:  # a measurement: record how each library fails
            outcome = f"{type(exc).__name__}: {str(exc)[:60]}"
        timings.append(time.perf_counter() - started)
    return min(timings), outcome


def compare_pdf_libraries(pages: int, runs: int) -> list[list[object]]:
    started = time.perf_counter()
    data = samples.make_multipage_pdf(page_count=pages)
    print(f"generated {pages}-page PDF ({len(data) / 1024:.0f} KB) in "
          f"{time.perf_counter() - started:.2f} s")  # fmt: skip
    truncated = data[: len(data) // 2]
    rows: list[list[object]] = []
    for label, payload in [(f"{pages} pages", data), ("truncated", truncated)]:
        for name, function in [("pypdfium2", with_pypdfium2), ("pypdf", with_pypdf)]:
            seconds, outcome = best_of(runs, lambda f=function, p=payload: f(p))  # type: ignore[misc]
            print(f"  {label:>10}  {name:<10} {seconds * 1000:9.1f} ms  {outcome}")
            rows.append([label, name, f"{seconds * 1000:.1f}", outcome])
    return rows


def mean_ms(calls: int, function: Callable[[], object]) -> float:
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return statistics.mean(timings) * 1000


def measure_sandbox(calls: int) -> list[list[object]]:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        tiny = samples.write(folder, "tiny.txt", b"A tiny text file with one sentence.")
        pdf = samples.write(folder, "one.pdf", samples.make_pdf(["One short page."]))
        started = time.perf_counter()
        extract_in_sandbox(tiny, filetypes.TEXT)
        start_ms = (time.perf_counter() - started) * 1000
        print(f"sandbox host start (first call): {start_ms:.0f} ms")
        rows: list[list[object]] = [["sandbox host start (first call)", f"{start_ms:.0f}", "", ""]]
        for label, path, kind in [
            ("tiny text", tiny, filetypes.TEXT),
            ("1-page PDF", pdf, filetypes.PDF),
        ]:
            sandboxed = mean_ms(calls, lambda p=path, k=kind: extract_in_sandbox(p, k))  # type: ignore[misc]
            local = mean_ms(calls, lambda p=path, k=kind: extract_file(p, k))  # type: ignore[misc]
            print(f"  {label:<11} sandbox {sandboxed:6.2f} ms/call  in-process {local:6.2f} ms/call"
                  f"  overhead {sandboxed - local:6.2f} ms  ({calls} calls)")  # fmt: skip
            rows.append([label, f"{sandboxed:.2f}", f"{local:.2f}", f"{sandboxed - local:.2f}"])
        shutdown_sandbox()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    libraries = compare_pdf_libraries(args.pages, args.runs)
    sandbox = measure_sandbox(args.calls)
    body = (
        markdown_table(["PDF", "library", "best of runs, ms", "outcome"], libraries)
        + "\n\n"
        + markdown_table(["call", "sandbox ms", "in-process ms", "overhead ms"], sandbox)
    )
    notes = f"Best of {args.runs} runs per PDF; mean of {args.calls} calls per sandbox row."
    write_section("extract", "Extraction: PDF libraries and the sandbox", body, notes=notes)


if __name__ == "__main__":
    main()
