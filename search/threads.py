"""Thread pools of a process that serves searches: one thread for BLAS and for FAISS.

A search's own numerical work is small: neighbour re-ranking multiplies at most 200
candidate vectors by 50 sources (search/score_regularisation.py), the delta's exact search
one query by a few thousand rows. A second BLAS thread gains nothing there, and OpenBLAS's
worker then spins for ~70 ms of CPU after each product before it sleeps: on 2 cores, the
core the next stage, the next request or the BM25 thread needs. With the local model,
re-ranking Cranfield queries' candidates took p99 10.7-12.4 ms with two BLAS threads and
0.5-0.7 ms with one, and hybrid search's p99 fell from 110-660 ms to 26-49 ms together with
one-thread query embedding (docs/search.md "With the local model"). FAISS is likewise
single-threaded for single queries (docs/vectors.md).

gunicorn workers call `serve_searches()` before they warm up (deploy/gunicorn.conf.py), and
so does the latency benchmark's in-process part (bench/query.py). Celery workers keep every
thread for their index builds and compactions.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

from search.vectorindex.faiss_loader import faiss


def serve_searches() -> None:
    """One BLAS thread for the whole process, one FAISS (OpenMP) thread for the caller's.

    numpy's OpenBLAS (pthreads) keeps one count for the process. OpenMP keeps one per OS
    thread, so FAISS and the OpenMP build of OpenBLAS it ships, called on threads started
    later, still use their default.
    """
    faiss.omp_set_num_threads(1)
    threadpool_limits(limits=1, user_api="blas")
