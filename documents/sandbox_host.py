"""The sandbox host: a long-lived process that runs each extraction in a forked,
rlimited worker. Started by ``documents.sandbox``; see that module for the design.

Protocol on the host's stdin/stdout (and between host and workers): each message is
a 4-byte big-endian length then UTF-8 JSON. The host first sends {"ready": pid};
each request {"path", "content_type", "cpu_seconds", "memory_bytes", "wall_seconds",
"max_output_bytes"} gets {"ok": true, "result": {...}} or {"ok": false, "kind": ...}.
A request with "ocr": {"pages": [...], "engine", "languages", "dpi", "tessdata_dir"}
recognises those pages (extractors/ocr.py) in a fresh worker under the limits it carries.
The host exits on EOF of stdin, and its workers die with it (PR_SET_PDEATHSIG).

Workers. A spare worker is forked right after each reply, so the fork (slow under
nested virtualisation: ~8 ms here) overlaps with the caller's own work. Formats parsed by native
code (PDF, OOXML, HTML) get a fresh worker that serves one file and exits, with hard
CPU and memory limits. Pure-Python formats (text, Markdown, CSV) share one reusable
worker, re-armed per file with soft limits and recycled after ``MAX_REUSE`` files
or any memory failure: a file can exhaust limits but cannot corrupt memory there.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gc
import importlib
import json
import math
import os
import resource
import select
import signal
import struct
import sys
import time
from pathlib import Path
from typing import Any

from documents.extractors.base import ExtractionError, ExtractionResult
from documents.extractors.ocr import recognise
from documents.extractors.ocr_engines import OcrOptions
from documents.extractors.registry import extract_file, preload
from documents.extractors.warmup import warm_up
from documents.formats import REUSABLE_TYPES  # formats whose sandbox is "shared"

HEADER = struct.Struct(">I")
MAX_REUSE = 500
FILE_SIZE_LIMIT = 8 * 1024 * 1024  # extractors never write files; logs may go to one
OPEN_FILES_LIMIT = 64
CHILD_FAILED = 70  # EX_SOFTWARE: the sandbox itself failed, not the document
PR_SET_PDEATHSIG = 1
WORKER_REQUEST_FD, WORKER_REPLY_FD = 3, 4


def read_exact(fd: int, size: int) -> bytes | None:
    """Blocking read of exactly ``size`` bytes; None on EOF."""
    chunks = []
    while size:
        data = os.read(fd, min(size, 1 << 20))
        if not data:
            return None
        chunks.append(data)
        size -= len(data)
    return b"".join(chunks)


def read_message(fd: int) -> bytes | None:
    header = read_exact(fd, HEADER.size)
    return None if header is None else read_exact(fd, HEADER.unpack(header)[0])


def send(fd: int, payload: bytes) -> None:
    view = memoryview(HEADER.pack(len(payload)) + payload)
    while view:
        view = view[os.write(fd, view) :]


# --- worker side (runs in the forked child) ------------------------------------------


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the host's wall timeout still bounds the worker


def _virtual_size() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _limit(which: int, soft: int, hard: int | None) -> None:
    """Set a limit (hard=None keeps the hard limit) without exceeding the current hard one."""
    _, current_hard = resource.getrlimit(which)
    new_hard = current_hard if hard is None else hard
    if current_hard != resource.RLIM_INFINITY:
        new_hard = min(new_hard, current_hard)
    if new_hard != resource.RLIM_INFINITY:
        soft = min(soft, new_hard)
    resource.setrlimit(which, (soft, new_hard))


def _recognise(request: dict[str, Any]) -> ExtractionResult:
    ocr = request["ocr"]
    pages = [int(page) for page in ocr["pages"]]
    options = OcrOptions.from_dict(ocr)
    return recognise(Path(request["path"]), request["content_type"], pages, options)


def _extract_payload(request: dict[str, Any]) -> bytes:
    try:
        if "ocr" in request:
            result = _recognise(request)
        else:
            result = extract_file(Path(request["path"]), request["content_type"])
        data = json.dumps({"ok": True, "result": result.to_dict()}, ensure_ascii=False)
        del result
        payload = data.encode("utf-8", "surrogatepass")
    except ExtractionError as exc:
        payload = json.dumps({"ok": False, "kind": "extraction", "message": exc.message}).encode()
    except MemoryError:
        payload = b'{"ok": false, "kind": "memory"}'
    if len(payload) > int(request["max_output_bytes"]):
        payload = b'{"ok": false, "kind": "too_large"}'
    return payload


def _worker_loop() -> None:
    _die_with_parent()
    _limit(resource.RLIMIT_CORE, 0, 0)
    _limit(resource.RLIMIT_FSIZE, FILE_SIZE_LIMIT, FILE_SIZE_LIMIT)
    _limit(resource.RLIMIT_NOFILE, OPEN_FILES_LIMIT, OPEN_FILES_LIMIT)
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)
    base_size = _virtual_size()
    while (message := read_message(WORKER_REQUEST_FD)) is not None:
        request = json.loads(message)
        single_use = bool(request["single_use"])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu = math.ceil(usage.ru_utime + usage.ru_stime) + int(request["cpu_seconds"])
        # SIGXCPU at the soft limit; a single-use worker also gets SIGKILL one second later.
        _limit(resource.RLIMIT_CPU, cpu, cpu + 1 if single_use else None)
        memory = base_size + int(request["memory_bytes"])
        _limit(resource.RLIMIT_AS, memory, memory if single_use else None)
        send(WORKER_REPLY_FD, _extract_payload(request))
        if single_use:
            return


# --- host side ------------------------------------------------------------------------


class Worker:
    def __init__(self, pid: int, request_fd: int, reply_fd: int) -> None:
        self.pid = pid
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self.served = 0
        self.memory_bytes: int | None = None

    def close(self) -> None:
        for fd in (self.request_fd, self.reply_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def spawn_worker() -> Worker:
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        status = CHILD_FAILED
        try:
            # Move our two pipe ends to fixed numbers, then drop every other descriptor so
            # a compromised worker cannot reach the host's channels or its siblings' pipes.
            high_in = fcntl.fcntl(request_read, fcntl.F_DUPFD, 10)
            high_out = fcntl.fcntl(reply_write, fcntl.F_DUPFD, 10)
            os.dup2(high_in, WORKER_REQUEST_FD)
            os.dup2(high_out, WORKER_REPLY_FD)
            os.closerange(WORKER_REPLY_FD + 1, 65536)
            _worker_loop()
            status = 0
        except BaseException:  # noqa: S110 - the child must reach os._exit no matter what
            pass
        finally:
            os._exit(status)
    os.close(request_read)
    os.close(reply_write)
    return Worker(pid, request_write, reply_read)


class Host:
    def __init__(self) -> None:
        self.spare: Worker | None = None
        self.shared: Worker | None = None
        self.zombies: list[int] = []

    def refill(self) -> None:
        """Reap finished workers and fork the next spare (between requests)."""
        self.zombies = [pid for pid in self.zombies if os.waitpid(pid, os.WNOHANG)[0] == 0]
        if self.spare is None:
            try:
                self.spare = spawn_worker()
            except OSError:
                self.spare = None  # retried on demand by the next request

    def handle(self, request: dict[str, Any]) -> bytes:
        reusable = request["content_type"] in REUSABLE_TYPES and "ocr" not in request
        request["single_use"] = not reusable
        try:
            worker = self._pick(reusable, int(request["memory_bytes"]))
        except OSError as exc:
            return json.dumps({"ok": False, "kind": "unavailable", "message": str(exc)}).encode()
        deadline = time.monotonic() + float(request["wall_seconds"])
        verdict, data = _exchange(worker, request, deadline, int(request["max_output_bytes"]))
        if verdict == "unsent":
            # The worker died while idle (not this file's fault): retry once on a fresh one.
            self._retire(worker)
            try:
                worker = self._adopt(spawn_worker(), reusable, int(request["memory_bytes"]))
            except OSError as exc:
                return json.dumps(
                    {"ok": False, "kind": "unavailable", "message": str(exc)}
                ).encode()
            verdict, data = _exchange(worker, request, deadline, int(request["max_output_bytes"]))
        if verdict == "reply":
            worker.served += 1
            if (
                not reusable
                or worker.served >= MAX_REUSE
                or data.startswith(b'{"ok": false, "kind": "memory"')
            ):
                self._retire(worker)
            return data
        if verdict not in ("dead", "unsent"):
            os.kill(worker.pid, signal.SIGKILL)
        status, usage = _reap(worker.pid, deadline + 5)
        self._discard(worker)
        if verdict == "unsent":
            return b'{"ok": false, "kind": "unavailable", "message": "workers keep dying"}'
        if verdict != "dead":
            return json.dumps({"ok": False, "kind": verdict}).encode()
        return _reply_for_exit(status, usage.ru_utime + usage.ru_stime, request)

    def _pick(self, reusable: bool, memory_bytes: int) -> Worker:
        shared = self.shared
        if reusable and shared is not None and shared.memory_bytes == memory_bytes:
            return shared
        if reusable and shared is not None:
            self._retire(shared)  # re-arming a different memory cap needs a fresh worker
        worker, self.spare = self.spare or spawn_worker(), None
        return self._adopt(worker, reusable, memory_bytes)

    def _adopt(self, worker: Worker, reusable: bool, memory_bytes: int) -> Worker:
        if reusable:
            worker.memory_bytes = memory_bytes
            self.shared = worker
        return worker

    def _retire(self, worker: Worker) -> None:
        """Let a worker exit on its own (EOF on its request pipe) and reap it later."""
        self._discard(worker)
        self.zombies.append(worker.pid)

    def _discard(self, worker: Worker) -> None:
        worker.close()
        if self.shared is worker:
            self.shared = None


def _exchange(
    worker: Worker, request: dict[str, Any], deadline: float, limit: int
) -> tuple[str, bytes]:
    """Send a request to a worker; ("reply", data) or (unsent|dead|timeout|too_large, b"")."""
    try:
        send(worker.request_fd, json.dumps(request).encode())
    except OSError:
        return "unsent", b""
    poller = select.poll()
    poller.register(worker.reply_fd, select.POLLIN)
    buffer = bytearray()
    expected: int | None = None
    while expected is None or len(buffer) < expected:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout", b""
        if not poller.poll(math.ceil(remaining * 1000)):
            continue
        data = os.read(worker.reply_fd, 1 << 20)
        if not data:
            return "dead", b""
        buffer += data
        if expected is None and len(buffer) >= HEADER.size:
            expected = HEADER.size + HEADER.unpack_from(buffer)[0]
            if expected > limit + HEADER.size:
                return "too_large", b""
    return "reply", bytes(buffer[HEADER.size :])


def _reap(pid: int, deadline: float) -> tuple[int, resource.struct_rusage]:
    pause = 0.0001  # the worker is exiting: poll briefly rather than trust a blocking wait
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, usage
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            _, status, usage = os.wait4(pid, 0)
            return status, usage
        time.sleep(pause)
        pause = min(pause * 2, 0.01)


def _reply_for_exit(status: int, cpu_used: float, request: dict[str, Any]) -> bytes:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        hard_cpu_kill = request["single_use"] and cpu_used >= float(request["cpu_seconds"]) - 0.5
        if number == signal.SIGXCPU or (number == signal.SIGKILL and hard_cpu_kill):
            return b'{"ok": false, "kind": "cpu"}'
        if number == signal.SIGKILL:
            return b'{"ok": false, "kind": "memory"}'  # the kernel's OOM killer
        name = signal.Signals(number).name
        return json.dumps({"ok": False, "kind": "crash", "signal": name}).encode()
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == CHILD_FAILED:
        return b'{"ok": false, "kind": "internal"}'
    return b'{"ok": false, "kind": "crash", "signal": ""}'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="DI Platform extraction sandbox host")
    parser.add_argument("--setup", action="append", default=[], help="module:function to call")
    args = parser.parse_args(argv)
    # Keep the protocol channel private: anything a library prints goes to stderr.
    protocol_in = fcntl.fcntl(0, fcntl.F_DUPFD_CLOEXEC, 10)
    protocol_out = fcntl.fcntl(1, fcntl.F_DUPFD_CLOEXEC, 10)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    preload()
    warm_up()
    for spec in args.setup:
        module_name, _, function = spec.partition(":")
        getattr(importlib.import_module(module_name), function)()
    gc.collect()
    gc.freeze()  # forked workers then never touch (and copy) the preloaded objects' pages
    host = Host()
    host.refill()
    send(protocol_out, json.dumps({"ready": os.getpid()}).encode())
    while (message := read_message(protocol_in)) is not None:
        try:
            send(protocol_out, host.handle(json.loads(message)))
        except BrokenPipeError:
            return 0
        host.refill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
