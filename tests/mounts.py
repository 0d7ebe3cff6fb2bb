"""A small tmpfs for tests of a full disk: a real filesystem that runs out of room.

Mounting needs root (as CI runs); elsewhere the test is skipped, or fails when
REQUIRE_MOUNT is set so that a CI without the right cannot pass by skipping.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


def mount_tmpfs(folder: Path, size_kb: int) -> None:
    """Mount a tmpfs of `size_kb` KB on `folder` (created if missing), or skip the test."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        if os.environ.get("REQUIRE_MOUNT"):
            pytest.fail(f"could not mount a tmpfs: {mounted.stderr.strip()}")
        pytest.skip("mounting a small tmpfs needs root")


def unmount(folder: Path) -> None:
    """Detach it now (files processes still map, such as BM25 matrices, are freed when they
    let go) and remove the folder."""
    subprocess.run(["umount", "--lazy", str(folder)], check=False)
    folder.rmdir()
