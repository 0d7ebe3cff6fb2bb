"""Import faiss with its bundled OpenBLAS told which CPU it runs on.

faiss-cpu wheels ship OpenBLAS 0.3.15, which does not recognise recent Xeons
(Sapphire Rapids and later, common in clouds) and silently falls back to a
generic kernel: k-means training and brute-force search then run ~5x slower
(measured 11 vs 70-95 GFLOP/s on this machine). OpenBLAS reads
OPENBLAS_CORETYPE once, when the library loads, so it must be set before the
first ``import faiss`` in the process; an operator's own value always wins.
Import faiss from here (``from search.vectorindex.faiss_loader import faiss``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def _choose_coretype() -> str | None:
    if "OPENBLAS_CORETYPE" in os.environ or "faiss" in sys.modules or sys.platform != "linux":
        return None
    flags = _cpu_flags()
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Haswell"
    return None


_coretype = _choose_coretype()
if _coretype:
    os.environ["OPENBLAS_CORETYPE"] = _coretype

import faiss  # noqa: E402 - must follow the environment tweak above

__all__ = ["faiss"]
