"""A process that serves searches runs BLAS and FAISS on one thread (search/threads.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

from search.threads import serve_searches
from search.vectorindex.faiss_loader import faiss


@pytest.fixture
def restored() -> Iterator[ThreadpoolController]:
    """Puts every pool back as it was, so the rest of the session keeps its threads."""
    controller = ThreadpoolController()
    blas = controller.select(user_api="blas")
    before = [pool.num_threads for pool in blas.lib_controllers]
    faiss_before = faiss.omp_get_max_threads()
    yield controller
    for pool, threads in zip(blas.lib_controllers, before, strict=True):
        pool.set_num_threads(threads)
    faiss.omp_set_num_threads(faiss_before)


def test_blas_has_one_thread_in_every_thread_of_the_process(restored: ThreadpoolController):
    np.ones((8, 8)) @ np.ones((8, 8))  # numpy's BLAS is loaded
    assert restored.select(user_api="blas").lib_controllers

    serve_searches()

    seen: list[list[int]] = []

    def later_thread() -> None:  # like a request thread gunicorn starts after the set-up
        blas = ThreadpoolController().select(user_api="blas")
        # numpy's OpenBLAS (pthreads); FAISS's OpenMP build keeps a count per OS thread.
        seen.append([p.num_threads for p in blas.lib_controllers if p.threading_layer != "openmp"])

    worker = threading.Thread(target=later_thread)
    worker.start()
    worker.join()
    assert len(seen) == 1
    assert seen[0]
    assert set(seen[0]) == {1}
    here = restored.select(user_api="blas").lib_controllers
    assert {pool.num_threads for pool in here} == {1}
    assert faiss.omp_get_max_threads() == 1
