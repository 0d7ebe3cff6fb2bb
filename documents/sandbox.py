"""Run extractors out of process, under CPU, memory, file and wall-clock limits.

Design. Each calling process (a Celery prefork child, a test, a management command)
lazily starts one *sandbox host*: ``subprocess.Popen([sys.executable, "-m",
"documents.sandbox_host"])`` in its own session. Popen works inside daemonic Celery
children, where ``multiprocessing.Process`` refuses to start. The host imports and
warms every extractor once, then serves requests (length-prefixed JSON over its
stdin/stdout) by handing each file to a forked *worker* that has lowered its rlimits:
CPU seconds (SIGXCPU), address space (its size + the memory cap), 64 open files,
8 MB of file writes, no core dumps; it closes every inherited descriptor and dies
with the host (PR_SET_PDEATHSIG). The host enforces the wall clock with SIGKILL and
turns the worker's fate (result, ExtractionError, MemoryError, SIGXCPU, SIGKILL,
crash signal) into one reply.

- PDF, DOCX, PPTX, XLSX and HTML are parsed by native code, so each file gets a fresh
  worker with hard limits, which exits afterwards. The host forks the next one right
  after replying, so the fork overlaps with the caller's own work.
- Text, Markdown and CSV are parsed by pure Python, which a file can exhaust but not
  corrupt, so they share one worker, re-armed with soft limits per file and
  recycled after 500 files or any failure.
- OCR requests (``ocr=``: pages of a scanned PDF or an image, documents/ocr_stage.py) always
  get a fresh worker, with the limits the caller sends for OCR; the OCR engine is loaded in
  that worker, never in the host (a model loaded before fork would share its threads' state).

Why this shape: a fresh interpreter per file costs ~1 s of imports here; even a bare
fork costs ~8 ms on this (nested-virtualised) machine. Measured per call
(bench/extract_compare.py, 200 calls): tiny text 0.4 ms in the sandbox vs 0.25 ms
in-process; one-page PDF ~12 ms back-to-back (fork on the path) vs 0.8 ms.
Results travel as JSON, never pickle: the worker parses hostile input and must not
be able to run code in the caller.

Caller side: ``SandboxHost`` holds the Popen behind a lock, restarts it if it died,
forgets it after ``os.fork()`` (``os.register_at_fork`` plus a pid check; the
parent's host is left alone), and gives up on a host that stays silent past the wall
limit plus a grace period, killing it (its worker dies with it). Failures caused by
the document raise ``ExtractionError`` (permanent, message for the user); failures of
the sandbox itself raise ``SandboxError`` (transient: retry the task); a missing file
raises ``FileNotFoundError``.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from documents.extractors.base import ExtractionError, ExtractionResult

__all__ = [
    "SandboxError",
    "SandboxHost",
    "extract_in_sandbox",
    "recognise_in_sandbox",
    "shutdown_sandbox",
    "start_sandbox",
]

HEADER = struct.Struct(">I")
GRACE_SECONDS = 5.0  # the host enforces the wall limit itself; this only catches a stuck host
STARTUP_SECONDS = 30.0
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SandboxError(Exception):
    """The sandbox itself failed (not the document); retrying later may succeed."""


class _HostGone(Exception):
    pass


class SandboxHost:
    """One sandbox host process, owned by the process that created this object."""

    def __init__(self, *, setup: Sequence[str] = (), startup_seconds: float = STARTUP_SECONDS):
        self.setup = tuple(setup)  # "module:function" hooks the host calls after preloading
        self.startup_seconds = startup_seconds
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = os.getpid()
        _instances.add(self)

    def extract(
        self,
        path: Path,
        content_type: str,
        *,
        cpu_seconds: int = 30,
        memory_bytes: int = 1_000_000_000,
        wall_seconds: float = 60,
        max_output_bytes: int = 64_000_000,
        ocr: dict[str, object] | None = None,
    ) -> ExtractionResult:
        """Extract the file's text; with ``ocr`` ({"pages": [...], **OcrOptions}), recognise
        those pages instead (documents/extractors/ocr.py), under the limits given."""
        path = Path(path).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no file at {path}")  # storage trouble, not the document
        request: dict[str, Any] = {
            "path": str(path),
            "content_type": content_type,
            "cpu_seconds": cpu_seconds,
            "memory_bytes": memory_bytes,
            "wall_seconds": wall_seconds,
            "max_output_bytes": max_output_bytes,
        }
        if ocr is not None:
            request["ocr"] = ocr
        with self._lock:
            process = self._ensure_started()
            try:
                _send(process, json.dumps(request).encode())
                reply = _receive(
                    process,
                    deadline=time.monotonic() + wall_seconds + GRACE_SECONDS,
                    max_bytes=max_output_bytes + 1024,
                )
            except (_HostGone, OSError) as exc:
                self._stop()
                raise SandboxError(f"The extraction sandbox stopped unexpectedly ({exc}).") from exc
        return _interpret(reply, request)

    def start(self) -> None:
        """Start the host now (e.g. in Celery's worker_process_init) instead of lazily."""
        with self._lock:
            self._ensure_started()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _ensure_started(self) -> subprocess.Popen[bytes]:
        if self._owner_pid != os.getpid():
            self._forget()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        command = [sys.executable, "-m", "documents.sandbox_host"]
        for hook in self.setup:
            command += ["--setup", hook]
        process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter and module
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            cwd=_PROJECT_ROOT,
            start_new_session=True,  # a Ctrl-C meant for the worker must not kill the host
            env=_host_environment(),
        )
        self._process = process
        try:
            ready = _receive(process, time.monotonic() + self.startup_seconds, 1024)
            if "ready" not in json.loads(ready):
                raise _HostGone("unexpected greeting")
        except (_HostGone, OSError, ValueError) as exc:
            self._stop()
            raise SandboxError(f"The extraction sandbox could not start ({exc}).") from exc
        return process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        if process.poll() is None:
            process.kill()  # its forked child dies with it (PR_SET_PDEATHSIG)
        process.wait()

    def _forget(self) -> None:
        """After fork: drop our copies of the parent's pipes without touching its host."""
        process, self._process = self._process, None
        self._lock = threading.Lock()
        self._owner_pid = os.getpid()
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            process.returncode = 0  # not our child: stop Popen from ever waiting on it


_instances: weakref.WeakSet[SandboxHost] = weakref.WeakSet()
_default: SandboxHost | None = None
_default_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _default_lock
    _default_lock = threading.Lock()
    for host in list(_instances):
        host._forget()


os.register_at_fork(after_in_child=_after_fork_in_child)


def extract_in_sandbox(
    path: Path,
    content_type: str,
    *,
    cpu_seconds: int = 30,
    memory_bytes: int = 1_000_000_000,
    wall_seconds: float = 60,
    max_output_bytes: int = 64_000_000,
) -> ExtractionResult:
    """Extract ``path`` in this process's sandbox host (started on first use)."""
    return _default_host().extract(
        path,
        content_type,
        cpu_seconds=cpu_seconds,
        memory_bytes=memory_bytes,
        wall_seconds=wall_seconds,
        max_output_bytes=max_output_bytes,
    )


def recognise_in_sandbox(
    path: Path,
    content_type: str,
    ocr: dict[str, object],
    *,
    cpu_seconds: int,
    memory_bytes: int,
    wall_seconds: float,
) -> ExtractionResult:
    """OCR the pages ``ocr["pages"]`` of ``path`` in this process's sandbox host."""
    return _default_host().extract(
        path,
        content_type,
        cpu_seconds=cpu_seconds,
        memory_bytes=memory_bytes,
        wall_seconds=wall_seconds,
        ocr=ocr,
    )


def start_sandbox() -> None:
    """Start this process's default host now (e.g. from Celery's worker_process_init)."""
    _default_host().start()


def shutdown_sandbox() -> None:
    """Stop this process's default sandbox host (it is restarted on the next call)."""
    with _default_lock:
        if _default is not None:
            _default.close()


def _default_host() -> SandboxHost:
    global _default
    with _default_lock:
        if _default is None:
            _default = SandboxHost()
        return _default


def _host_environment() -> dict[str, str]:
    env = dict(os.environ)
    # The host must import what the caller imports (tests add paths at runtime).
    paths = [str(_PROJECT_ROOT), *(p for p in sys.path if p and os.path.isdir(p))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env["OPENPYXL_DEFUSEDXML"] = "True"  # openpyxl parses through defusedxml
    env.pop("PYTHONSTARTUP", None)
    return env


def _send(process: subprocess.Popen[bytes], payload: bytes) -> None:
    assert process.stdin is not None
    data = memoryview(HEADER.pack(len(payload)) + payload)
    fd = process.stdin.fileno()
    while data:
        data = data[os.write(fd, data) :]


def _receive(process: subprocess.Popen[bytes], deadline: float, max_bytes: int) -> bytes:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    poller = select.poll()  # not select.select: Celery workers may hold fds above 1024
    poller.register(fd, select.POLLIN)
    header = _read_exact(fd, poller, HEADER.size, deadline)
    (size,) = HEADER.unpack(header)
    if size > max_bytes:
        raise _HostGone(f"reply of {size} bytes is over the {max_bytes} byte limit")
    return _read_exact(fd, poller, size, deadline)


def _read_exact(fd: int, poller: select.poll, size: int, deadline: float) -> bytes:
    chunks = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _HostGone("no reply before the deadline")
        if not poller.poll(math.ceil(remaining * 1000)):
            continue
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            raise _HostGone("the host exited")
        chunks.append(data)
        size -= len(data)
    return b"".join(chunks)


def _interpret(reply: bytes, request: dict[str, Any]) -> ExtractionResult:
    try:
        message = json.loads(reply)
        if message.get("ok") is True:
            return ExtractionResult.from_dict(message["result"])
        kind = message.get("kind")
    except (ValueError, TypeError, KeyError, AttributeError):
        kind = "crash"
        message = {}
    if kind in ("unavailable", "internal"):
        raise SandboxError(f"The extraction sandbox failed ({message.get('message', kind)}).")
    raise ExtractionError(_sentence(kind, message, request))


def _sentence(kind: object, message: dict[str, Any], request: dict[str, Any]) -> str:
    if kind == "extraction" and isinstance(message.get("message"), str):
        return str(message["message"])
    work = "Extraction"
    if "ocr" in request:
        pages = request["ocr"].get("pages") or []
        work = f"Text recognition (OCR) of page{'s' if len(pages) > 1 else ''} " + ", ".join(
            str(page) for page in pages
        )
    if kind == "memory":
        megabytes = request["memory_bytes"] // 1_000_000
        return (
            f"{work} needed more than {megabytes} MB of memory, so it was stopped. "
            "Split the file into smaller parts or simplify it, then upload again."
        )
    if kind == "cpu":
        return (
            f"{work} took longer than {request['cpu_seconds']} s of CPU time, so it was "
            "stopped. Split the file into smaller parts or simplify it, then upload again."
        )
    if kind == "timeout":
        return (
            f"{work} took longer than {request['wall_seconds']:g} s, so it was stopped. "
            "Split the file into smaller parts or simplify it, then upload again."
        )
    if kind == "too_large":
        megabytes = request["max_output_bytes"] // 1_000_000
        return (
            f"The file contains more than {megabytes} MB of text, which is over the limit. "
            "Split it into smaller files and upload them again."
        )
    detail = f" ({message['signal']})" if message.get("signal") else ""
    return (
        f"The document reader crashed on this file{detail}; it may be damaged or crafted "
        "to attack document readers. Save it again from the application that created it "
        "and upload the new copy."
    )
