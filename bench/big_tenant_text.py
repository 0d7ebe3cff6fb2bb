"""The big-tenant bench's documents: the eval collections' passages recombined.

Every sentence of Cranfield's abstracts (split at " . ", as bench/query.py does) and every
CACM entry (its title, and its abstract's sentences where it has one) goes into one pool.
A document is a title (a random entry's title) and paragraphs of 3-8 sentences drawn from
the pool with replacement, until it holds about the number of tokens its chunk count asks
for (uniform in 100-300 chunks); `random.Random(seed)` makes the whole corpus the same on
every run. Chunks of such documents read like the abstracts they came from (the same
vocabulary, sentence lengths and paragraph breaks), while no two documents share a
paragraph, so the vocabulary, BM25 rows and hashing vectors spread as real collections on
one subject do.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS = (ROOT / "eval" / "cranfield", ROOT / "eval" / "cacm")
CHUNKS_PER_DOCUMENT = (100, 300)


@dataclass(frozen=True)
class Generated:
    name: str
    body: bytes
    expected_chunks: int


def pool() -> tuple[list[str], list[str]]:
    """(sentences, titles) of both collections."""
    sentences: list[str] = []
    titles: list[str] = []
    for collection in COLLECTIONS:
        with (collection / "corpus.jsonl").open() as lines:
            for line in lines:
                entry = json.loads(line)
                title = entry.get("title", "").strip().rstrip(" .")
                if title:
                    titles.append(title)
                    sentences.append(title + ".")
                for sentence in entry.get("text", "").split(" . "):
                    if len(sentence.split()) > 4:
                        sentences.append(sentence.strip().rstrip(" .") + " .")
    return sentences, titles


def queries() -> list[str]:
    """Both collections' queries, interleaved (Cranfield's then CACM's, alternately)."""
    lists = []
    for collection in COLLECTIONS:
        with (collection / "queries.jsonl").open() as lines:
            lists.append([json.loads(line)["text"].strip() for line in lines])
    mixed = [q for pair in zip(*lists, strict=False) for q in pair]
    longest = max(lists, key=len)
    return [q for q in mixed + longest[len(mixed) // 2 :] if q]


def documents(seed: int, tokens_per_chunk: float) -> Iterator[Generated]:
    """Endless documents; `tokens_per_chunk`: the chunker's new tokens per chunk (about
    CHUNK_TARGET_TOKENS * (1 - CHUNK_OVERLAP_RATIO) for prose)."""
    sentences, titles = pool()
    rng = random.Random(seed)
    number = 0
    while True:
        chunks = rng.randint(*CHUNKS_PER_DOCUMENT)
        budget = int(chunks * tokens_per_chunk)
        title = rng.choice(titles)
        paragraphs = [title]
        tokens = 0
        while tokens < budget:
            paragraph = " ".join(rng.choices(sentences, k=rng.randint(3, 8)))
            # The chunker counts words and punctuation; about 1.1 tokens per word here.
            tokens += int(len(paragraph.split()) * 1.1)
            paragraphs.append(paragraph)
        number += 1
        yield Generated(
            f"report-{number:06d}.txt", ("\n\n".join(paragraphs) + "\n").encode(), chunks
        )
