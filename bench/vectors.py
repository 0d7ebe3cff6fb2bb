"""Benchmark the per-tenant vector index and the embedders; prints markdown tables.

Data: a Gaussian mixture on the unit sphere (``make_mixture``): ~n/300 clusters
(at most 3,000) of Zipf-like sizes and varying spread, so neighbours have
cosine 0.5-0.9 as with neural sentence embeddings. Queries are fresh draws
from the same mixture, never stored vectors. Embedder throughput uses
~300-word chunks cut from the Cranfield corpus.

    python bench/vectors.py                      # 10k, 100k, 1M; flat, ivf, hnsw
    python bench/vectors.py --quick              # 10k + 100k, fewer queries
    python bench/vectors.py --sizes 1000000 --kinds ivf
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from report import markdown_table, write_section

from search.vectorindex import IndexSnapshot, build_index
from search.vectorindex.build import exact_top_k
from search.vectorindex.faiss_loader import faiss

DIM = 384
HNSW_EF_SEARCH = 128
CRANFIELD = Path(__file__).resolve().parents[1] / "eval" / "cranfield" / "corpus.jsonl"


def make_mixture(
    n: int, dim: int = DIM, *, seed: int = 0, queries: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` stored vectors and ``queries`` query vectors from one clustered distribution."""
    rng = np.random.default_rng(seed)
    clusters = int(min(3_000, max(20, n // 300)))
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = 1.0 / np.arange(1, clusters + 1) ** 0.7  # a few big topics, a long tail
    weights /= weights.sum()
    spread = rng.uniform(0.45, 1.1, size=clusters).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 100_000):
            stop = min(count, start + 100_000)
            which = rng.choice(clusters, size=stop - start, p=weights)
            noise = rng.standard_normal((stop - start, dim), dtype=np.float32)
            block = centres[which] + noise * (spread[which, None] / np.sqrt(dim))
            out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    return draw(n), draw(queries)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def file_bytes(index: faiss.Index) -> int:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as handle:
        faiss.write_index(index, handle.name)
        return os.path.getsize(handle.name)


def latency_ms(snapshot: IndexSnapshot, queries: np.ndarray, k: int) -> tuple[float, float]:
    """Single-query latency with one FAISS thread, as a web worker is configured to run."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    timings = []
    try:
        for q in queries:
            start = time.perf_counter()
            snapshot.search(q, k)
            timings.append((time.perf_counter() - start) * 1000)
    finally:
        faiss.omp_set_num_threads(threads)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def bench_index(
    n: int, kinds: list[str], n_queries: int, *, max_hnsw: int, k: int = 10
) -> list[dict[str, Any]]:
    t0 = time.perf_counter()
    vectors, queries = make_mixture(n, seed=n, queries=n_queries)
    ids = np.arange(n, dtype=np.int64) + 1_000_000
    print(f"[{n:,}] generated in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    truth = ids[exact_top_k(queries, vectors, k)]
    raw = vectors.nbytes
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        if kind == "hnsw" and n > max_hnsw:
            continue  # ~5 minutes to build at 1M on 2 cores; opt in with --max-hnsw
        start = time.perf_counter()
        index = build_index(ids, vectors, kind=kind, hnsw_ef_search=HNSW_EF_SEARCH)  # type: ignore[arg-type]
        build_s = time.perf_counter() - start
        snapshot = IndexSnapshot(index, version=1, embedder_name="bench", dimension=DIM)
        found = np.array([[i for i, _ in snapshot.search(q, k)] for q in queries])
        lat_queries = queries if kind != "flat" or n < 500_000 else queries[:100]
        p50, p99 = latency_ms(snapshot, lat_queries, k)
        size = file_bytes(index)
        params = {
            "flat": "exact",
            "ivf": f"nlist={getattr(index, 'nlist', '-')}, nprobe={getattr(index, 'nprobe', '-')}",
            "hnsw": f"M=16, efC=80, efSearch={HNSW_EF_SEARCH}",
        }
        rows.append(
            {
                "n": n,
                "kind": kind,
                "params": params[kind],
                "build_s": build_s,
                "bytes": size,
                "ratio": size / raw,
                "p50": p50,
                "p99": p99,
                "recall": recall_at_k(found, truth),
            }
        )
        print(f"[{n:,}] {kind}: {rows[-1]}", file=sys.stderr)
        del index, snapshot
    return rows


def cranfield_chunks(words_per_chunk: int = 300) -> list[str]:
    texts = [json.loads(line)["text"] for line in CRANFIELD.open(encoding="utf-8")]
    words = " ".join(texts).split()
    step = words_per_chunk // 2  # overlapping windows: more chunks from a small corpus
    return [" ".join(words[i : i + words_per_chunk]) for i in range(0, len(words) - step, step)]


def bench_embedders(quick: bool) -> list[tuple[str, int, float]]:
    from documents.embeddings import get_embedder

    chunks = cranfield_chunks()
    results = []
    hashing = get_embedder("hashing")
    hashing.embed_documents(chunks[:50])  # warm the word cache as a long-lived worker would
    start = time.perf_counter()
    hashing.embed_documents(chunks)
    results.append((hashing.name, len(chunks), len(chunks) / (time.perf_counter() - start)))
    try:
        local = get_embedder("local")
    except Exception as exc:  # optional backend: report why and go on
        print(f"local embedder unavailable: {exc}", file=sys.stderr)
        return results
    sample = chunks[: 32 if quick else 128]
    local.embed_documents(sample[:4])
    start = time.perf_counter()
    local.embed_documents(sample)
    results.append((local.name, len(sample), len(sample) / (time.perf_counter() - start)))
    return results


def _index_row(r: dict[str, Any]) -> list[object]:
    return [
        f"{r['n']:,}", r["kind"], r["params"], f"{r['build_s']:.1f}", f"{r['bytes'] / 1e6:,.0f}",
        f"{r['ratio']:.3f}", f"{r['p50']:.2f}", f"{r['p99']:.2f}", f"{r['recall']:.3f}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--kinds", default="flat,ivf,hnsw", type=lambda s: s.split(","))
    parser.add_argument("--quick", action="store_true", help="10k+100k, 200 queries")
    parser.add_argument("--no-embedders", action="store_true")
    parser.add_argument("--no-index", action="store_true", help="embedder throughput only")
    parser.add_argument("--max-hnsw", type=int, default=200_000, help="skip HNSW above this")
    args = parser.parse_args()
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000])
    n_queries = 200 if args.quick else 500

    notes = f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, dimension {DIM}."
    print(notes)
    if args.no_index:
        sizes = []
    header = ["vectors", "index", "params", "build s", "index MB", "x raw", "p50 ms", "p99 ms",
              "recall@10"]  # fmt: skip
    rows: list[list[object]] = []
    for n in sizes:
        for r in bench_index(n, args.kinds, n_queries, max_hnsw=args.max_hnsw):
            rows.append(_index_row(r))
            print(f"[{n:,}] {rows[-1]}", file=sys.stderr, flush=True)
    sections = [markdown_table(header, rows)] if rows else []
    if not args.no_embedders:
        rates = [
            [name, f"{count:,}", f"{rate:,.0f}"]
            for name, count, rate in bench_embedders(args.quick)
        ]
        sections.append(markdown_table(["embedder", "chunks", "chunks/s (~300 words)"], rates))
    body = "\n\n".join(sections)
    print(body)
    write_section("vectors", "Vector index and embedders", body, notes=notes)


if __name__ == "__main__":
    main()
