"""How often the citation check (queries/answerers/support.py) is right, on claims built
from the evaluation collections.

    .venv/bin/python bench/citations.py [--per-collection 300] [--seed 7]

For documents of each collection (those judged relevant to some query, so they are real
answers to questions), claims are made against the document as the cited passage:

- true: one of its sentences as written, and the same sentence shortened by a third (an
  answer quoting part of it) — the check should call them supported;
- invented: a sentence of another document, the true sentence with a number changed, and
  the true sentence with half its words swapped for another document's — the check should
  flag them (partial or unsupported).

Reported: the share of true claims flagged by mistake and of invented claims caught.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from pathlib import Path

from report import markdown_table, write_section

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries.answerers.sentences import split_sentences
from queries.answerers.support import SUPPORTED, level

EVAL = Path(__file__).resolve().parent.parent / "eval"
COLLECTIONS = ("cranfield", "cacm")
_NUMBER = re.compile(r"\d+")
Claim = tuple[str, str]  # (claim, passage)


def _documents(name: str) -> list[str]:
    folder = EVAL / name
    judged = {
        line.split("\t")[1]
        for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]
        if line.strip()
    }
    texts = []
    for line in (folder / "corpus.jsonl").read_text().splitlines():
        row = json.loads(line)
        text = f"{row.get('title', '')}. {row.get('text', '')}".strip(". ")
        if row["_id"] in judged and len(split_sentences(text)) >= 2:
            texts.append(text)
    return texts


def _long_sentences(text: str) -> list[str]:
    return [s for s in split_sentences(text) if len(s.split()) >= 8]


def _changed_number(sentence: str, rng: random.Random) -> str | None:
    numbers = _NUMBER.findall(sentence)
    if not numbers:
        return None
    old = rng.choice(numbers)
    return sentence.replace(old, str(int(old) + rng.randint(1, 9)), 1)


def _half_swapped(sentence: str, other: str, rng: random.Random) -> str:
    words, foreign = sentence.split(), other.split()
    for index in rng.sample(range(len(words)), len(words) // 2):
        words[index] = rng.choice(foreign)
    return " ".join(words)


def claims_for(texts: list[str], count: int, rng: random.Random) -> dict[str, list[Claim]]:
    kinds: dict[str, list[Claim]] = {
        "true: as written": [], "true: shortened by a third": [],
        "invented: another document's sentence": [], "invented: a number changed": [],
        "invented: half the words swapped": [],
    }  # fmt: skip
    for text in rng.sample(texts, min(count, len(texts))):
        sentences = _long_sentences(text)
        other = rng.choice(texts)
        foreign = _long_sentences(other)
        if not sentences or not foreign or other == text:
            continue
        sentence = rng.choice(sentences)
        words = sentence.split()
        kinds["true: as written"].append((sentence, text))
        kinds["true: shortened by a third"].append((" ".join(words[: len(words) * 2 // 3]), text))
        kinds["invented: another document's sentence"].append((rng.choice(foreign), text))
        changed = _changed_number(sentence, rng)
        if changed:
            kinds["invented: a number changed"].append((changed, text))
        kinds["invented: half the words swapped"].append(
            (_half_swapped(sentence, rng.choice(foreign), rng), text)
        )
    return kinds


def _rate(claims: list[Claim], flagged: Callable[[str], bool]) -> str:
    if not claims:
        return "-"
    hits = sum(flagged(level(claim, passage)) for claim, passage in claims)
    return f"{100 * hits / len(claims):.1f} % of {len(claims)}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-collection", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rows = []
    for name in COLLECTIONS:
        print(f"… {name}", file=sys.stderr)
        rng = random.Random(args.seed)
        for kind, claims in claims_for(_documents(name), args.per_collection, rng).items():
            wanted = "flagged by mistake" if kind.startswith("true") else "caught"
            rows.append([name, kind, wanted, _rate(claims, lambda lv: lv != SUPPORTED)])
    table = markdown_table(["collection", "claims", "measure", "result"], rows)
    print(table)
    write_section(
        "citations",
        "Citation check",
        table,
        notes="Claims made from documents of the evaluation collections, each checked "
        "against its document as the cited passage (`queries/answerers/support.py`). "
        "Flagged = `partial` or `unsupported`. True claims should stay supported; invented "
        "ones should be flagged. Paraphrases that change most words would be flagged too: "
        "the check reads words, not meaning, and the invented sentences here come from other "
        "documents of the same field, not from a model's paraphrase.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
