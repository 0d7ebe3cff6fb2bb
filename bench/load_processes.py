"""What bench/load.py reads of the processes under load: memory and database connections."""

from __future__ import annotations

from pathlib import Path

from django.db import connection


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        listed = task / "children"
        if listed.exists():
            found += [int(child) for child in listed.read_text().split()]
    return found


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _name(pid: int) -> str:
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return str(pid)
    text = " ".join(word.decode(errors="replace") for word in words)
    if "gunicorn" in text:
        return "gunicorn"
    if "celery" in text:
        return "celery"
    return words[0].decode(errors="replace").rsplit("/", 1)[-1]


def resident(roots: list[int], field: str = "VmRSS") -> dict[str, float]:
    """Resident memory (MB) of each process of the trees under `roots`, by a readable name
    ('gunicorn (main)', 'gunicorn child 1', 'celery child 1', …): now (VmRSS), or the most
    it has held since it started (field="VmHWM")."""
    found: dict[str, float] = {}
    for root in roots:
        kind = _name(root)
        found[f"{kind} (main)"] = _rss_mb(root, field)
        for n, child in enumerate(sorted(_children(root)), start=1):
            found[f"{kind} child {n}"] = _rss_mb(child, field)
    return found


def connections_used(database: str) -> int:
    """Connections to `database` other than this one."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [database],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0
