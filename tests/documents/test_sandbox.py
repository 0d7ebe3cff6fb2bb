"""The extraction sandbox: same results as in-process, and hostile files only ever
cost one short-lived worker, never the caller or the next document."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from documents import filetypes
from documents.extractors.base import ExtractionError
from documents.extractors.registry import extract_file
from documents.sandbox import SandboxError, SandboxHost, extract_in_sandbox, shutdown_sandbox
from tests.documents import samples

HOSTILE = "tests.documents.samples:register_hostile_extractors"
SCRIPTED = "tests.documents.samples:register_scripted_text_extractor"


@pytest.fixture(scope="module")
def host() -> Iterator[SandboxHost]:
    sandbox = SandboxHost(setup=[HOSTILE])
    sandbox.start()
    yield sandbox
    sandbox.close()


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    return samples.write(tmp_path, "hello.txt", b"Hello from the sandbox.")


def assert_still_works(host: SandboxHost, text_file: Path) -> None:
    result = host.extract(text_file, filetypes.TEXT)
    assert result.blocks[0].text == "Hello from the sandbox."


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("a.pdf", samples.make_pdf(["First page.", "Second page."]), filetypes.PDF),
        ("a.docx", samples.make_docx(), filetypes.DOCX),
        ("a.pptx", samples.make_pptx(), filetypes.PPTX),
        ("a.xlsx", samples.make_xlsx(), filetypes.XLSX),
        ("a.html", samples.HTML_SAMPLE, filetypes.HTML),
        ("a.md", samples.MARKDOWN_SAMPLE.encode(), filetypes.MARKDOWN),
        ("a.csv", samples.CSV_SAMPLE.encode(), filetypes.CSV),
        ("a.txt", "Grüße".encode("utf-16"), filetypes.TEXT),
    ],
)
def test_sandbox_matches_in_process(
    host: SandboxHost, tmp_path: Path, name: str, data: bytes, content_type: str
) -> None:
    path = samples.write(tmp_path, name, data)
    assert host.extract(path, content_type) == extract_file(path, content_type)


def test_extraction_errors_cross_the_sandbox(host: SandboxHost, tmp_path: Path) -> None:
    path = samples.write(tmp_path, "blank.pdf", samples.make_blank_pdf())
    with pytest.raises(ExtractionError, match=r"no extractable text \(scanned\?\)"):
        host.extract(path, filetypes.PDF)


def test_cpu_bound_extraction_is_stopped(host: SandboxHost, text_file: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        host.extract(text_file, samples.SPIN_TYPE, cpu_seconds=1, wall_seconds=20)
    assert time.monotonic() - started < 10
    assert caught.value.message.startswith("Extraction took longer than 1 s of CPU time")
    assert_still_works(host, text_file)


def test_memory_hungry_extraction_is_stopped(host: SandboxHost, text_file: Path) -> None:
    with pytest.raises(ExtractionError) as caught:
        host.extract(text_file, samples.HOG_TYPE, memory_bytes=200_000_000)
    assert caught.value.message.startswith("Extraction needed more than 200 MB of memory")
    assert_still_works(host, text_file)


def test_wall_clock_limit(host: SandboxHost, text_file: Path) -> None:
    started = time.monotonic()
    with pytest.raises(ExtractionError, match=r"^Extraction took longer than 1\.5 s,"):
        host.extract(text_file, samples.SLEEP_TYPE, wall_seconds=1.5)
    assert time.monotonic() - started < 5
    assert_still_works(host, text_file)


def test_crashing_extractor(host: SandboxHost, text_file: Path) -> None:
    with pytest.raises(ExtractionError, match=r"crashed on this file \(SIGSEGV\)"):
        host.extract(text_file, samples.CRASH_TYPE)
    assert_still_works(host, text_file)


def test_stdout_noise_cannot_corrupt_the_protocol(host: SandboxHost, text_file: Path) -> None:
    result = host.extract(text_file, samples.CHATTY_TYPE)
    assert result.blocks[0].text == "Hello from the sandbox."
    assert_still_works(host, text_file)


def test_output_size_limit(host: SandboxHost, text_file: Path) -> None:
    with pytest.raises(ExtractionError, match="more than 1 MB of text"):
        host.extract(text_file, samples.HUGE_TYPE, max_output_bytes=1_000_000)
    assert_still_works(host, text_file)


@pytest.mark.parametrize(
    ("name", "data", "content_type", "phrase"),
    [
        ("bomb.docx", samples.make_zip_bomb_docx(), filetypes.DOCX, "zip bomb"),
        ("xxe.docx", samples.make_xxe_docx(), filetypes.DOCX, "document type declaration"),
        ("cut.pdf", samples.make_truncated_pdf(), filetypes.PDF, "damaged or incomplete"),
    ],
)
def test_hostile_files_fail_fast_with_a_sentence(
    host: SandboxHost, tmp_path: Path, text_file: Path, name: str, data: bytes,
    content_type: str, phrase: str,
) -> None:  # fmt: skip
    path = samples.write(tmp_path, name, data)
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        host.extract(path, content_type)
    assert time.monotonic() - started < 5
    assert phrase in caught.value.message
    assert samples.PASSWD_MARKER not in caught.value.message
    assert_still_works(host, text_file)


def test_deeply_nested_pdf_does_not_take_the_caller_down(
    host: SandboxHost, tmp_path: Path, text_file: Path
) -> None:
    path = samples.write(tmp_path, "nested.pdf", samples.make_nested_pdf())
    outcome: object
    try:
        outcome = host.extract(path, filetypes.PDF, wall_seconds=20).page_count
    except ExtractionError as exc:  # refusing the file with a sentence is fine too
        outcome = exc.message[-1]
    assert outcome in (1, ".")
    assert_still_works(host, text_file)


def test_reusable_worker_is_rearmed_per_file(tmp_path: Path) -> None:
    sandbox = SandboxHost(setup=[SCRIPTED])
    try:
        spin = samples.write(tmp_path, "spin.txt", b"spin")
        hog = samples.write(tmp_path, "hog.txt", b"hog")
        fine = samples.write(tmp_path, "fine.txt", b"fine")
        for _ in range(3):  # CPU used by earlier files must not count against later ones
            assert sandbox.extract(fine, filetypes.TEXT, cpu_seconds=1).blocks[0].text == "fine"
        with pytest.raises(ExtractionError, match="longer than 1 s of CPU time"):
            sandbox.extract(spin, filetypes.TEXT, cpu_seconds=1, wall_seconds=20)
        with pytest.raises(ExtractionError, match="more than 200 MB of memory"):
            sandbox.extract(hog, filetypes.TEXT, memory_bytes=200_000_000)
        assert sandbox.extract(fine, filetypes.TEXT).blocks[0].text == "fine"
    finally:
        sandbox.close()


def test_dead_host_is_restarted_transparently(host: SandboxHost, text_file: Path) -> None:
    assert_still_works(host, text_file)
    process = host._process
    assert process is not None
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert_still_works(host, text_file)
    assert host._process is not None
    assert host._process.pid != process.pid


def test_concurrent_threads_share_one_host(host: SandboxHost, text_file: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: host.extract(text_file, filetypes.TEXT), range(40)))
    assert {r.blocks[0].text for r in results} == {"Hello from the sandbox."}


def _extract_in_child(path: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(extract_in_sandbox(Path(path), filetypes.TEXT).blocks[0].text)


def test_works_inside_a_daemonic_forked_process(text_file: Path) -> None:
    extract_in_sandbox(text_file, filetypes.TEXT)  # the parent's host exists before the fork
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    child = context.Process(target=_extract_in_child, args=(str(text_file), queue), daemon=True)
    child.start()
    assert queue.get(timeout=30) == "Hello from the sandbox."
    child.join(timeout=30)
    assert child.exitcode == 0
    # The parent's own host was not disturbed by the child.
    assert extract_in_sandbox(text_file, filetypes.TEXT).blocks[0].text == "Hello from the sandbox."
    shutdown_sandbox()


def test_a_host_that_cannot_start_raises_sandbox_error(text_file: Path) -> None:
    broken = SandboxHost(setup=["tests.documents.no_such_module:setup"], startup_seconds=20)
    with pytest.raises(SandboxError, match="could not start"):
        broken.extract(text_file, filetypes.TEXT)


def test_missing_file_is_not_blamed_on_the_document(host: SandboxHost, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        host.extract(tmp_path / "gone.txt", filetypes.TEXT)


def test_idle_worker_death_is_retried_not_blamed(tmp_path: Path, text_file: Path) -> None:
    sandbox = SandboxHost(setup=[SCRIPTED])
    try:
        assert sandbox.extract(text_file, filetypes.TEXT).blocks
        # Kill every worker of the host while idle (as an OOM killer might).
        process = sandbox._process
        assert process is not None
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.2)
        assert sandbox.extract(text_file, filetypes.TEXT).blocks[0].text == (
            "Hello from the sandbox."
        )
    finally:
        sandbox.close()
