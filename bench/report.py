"""Write a benchmark's table into docs/benchmarks.md, labelled with where and how it ran.

Each benchmark owns one section of that file, between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; a new run replaces the section (the history of earlier runs is in
git). The label says the date, the commit (with "+ changes" when the tree was dirty), the
CPU model and core count, and the exact command, so a reader can tell what a number means
and repeat it.

    from report import write_section
    write_section("query", "Search latency", rows_markdown, notes="...")
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Every table here is written by a script under `bench/` (`bench/report.py`), never by hand:
each section says when, on which commit and CPU, and with which command it was measured.
Re-run the command to refresh a section; older runs are in git history. Goals and what the
numbers led to are discussed in docs/search.md (latency, quality) and docs/ingestion.md.
"""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"{sha} + uncommitted changes" if dirty else sha


def command() -> str:
    """How this run was started, as a command a reader can paste."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):  # a script outside the repository stays as given
        script = script.resolve().relative_to(ROOT)
    return shlex.join([".venv/bin/python", str(script), *sys.argv[1:]])


def label() -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cores = os.cpu_count() or 0
    return (
        f"Measured {now} on commit `{commit()}`, {cpu_model()} ({cores} cores), with\n"
        f"`{command()}`."
    )


def write_section(name: str, title: str, body: str, *, notes: str = "") -> Path:
    """Replace (or add) the section `name` of docs/benchmarks.md with `body` (Markdown)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    parts = [start, f"## {title}", "", label(), ""]
    if notes:
        parts += [notes.strip(), ""]
    parts += [body.strip(), "", end]
    section = "\n".join(parts)
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text)
    print(f"wrote the '{title}' section of {BENCHMARKS.relative_to(ROOT)}", file=sys.stderr)
    return BENCHMARKS


def markdown_table(header: list[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
