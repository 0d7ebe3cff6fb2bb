"""The fault tests share one private platform (tests/faults/platform.py) per run."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.platform import PrivatePlatform


@pytest.fixture(scope="package")
def platform() -> Iterator[PrivatePlatform]:
    # Not under pytest's temporary root: that folder is private to the user running pytest
    # (and reset to be so by every pytest run), while PostgreSQL runs as its own user.
    root = Path(tempfile.mkdtemp(prefix="di-fault-"))
    root.chmod(0o755)
    private = PrivatePlatform(root)
    try:
        private.start()
        yield private
    finally:
        private.stop()
        shutil.rmtree(root, ignore_errors=True)
