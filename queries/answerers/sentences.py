"""Sentence splitting and term matching for answer text.

Deliberately small and dependency-free: answerers need "which sentence talks
about these words", not linguistics. Both sides of every comparison go through
the same normaliser, so an imperfect stemmer still matches consistently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

# Words whose trailing period never ends a sentence.
_ABBREVIATIONS = frozenset(
    {
        "al", "approx", "art", "ca", "cf", "ch", "co", "corp", "dept", "dr", "e.g", "eq",
        "eqs", "est", "fig", "figs", "i.e", "inc", "jr", "ltd", "mr", "mrs", "ms", "mt",
        "no", "nos", "p", "pp", "para", "prof", "ref", "refs", "sec", "sr", "st", "vol",
        "vs", "u.s", "u.k", "e.u", "ph.d", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
        "sep", "sept", "oct", "nov", "dec",
    }
)  # fmt: skip
# These end a sentence only when a capitalised word follows ("... and so on, etc. The next").
_SOMETIMES_FINAL = frozenset({"etc", "inc", "ltd", "co", "corp"})

# Closing quotes and brackets that may follow a sentence's final punctuation.
CLOSERS = "\"'\u201d\u2019)]"
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space.
_BOUNDARY = re.compile(r"[.!?\u2026]+[" + re.escape(CLOSERS) + r"]*(?=\s+)")
_WORD_BEFORE = re.compile(r"([\w.]+)\.$")
# A line that opens with a short capitalised label and a colon, after a line that did not
# end a sentence: reference manuals' "Returns: …", "Usage: …", "Note: …".
_LABELLED_LINE = re.compile(r"(?<![.!?:;])\n(?=[A-Z][A-Za-z]{1,20}(?: [a-z]{1,12})?: )")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n|\n\s*(?=[-•*▪◦]\s)")

_STOPWORD_LIST = """
    a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just let me more most my myself nor not of off on once only or
    other our ours ourselves out over own please same she should so some such tell than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves must might shall also
"""
_STOPWORDS = frozenset(_STOPWORD_LIST.split())
_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
_VOWEL = re.compile(r"[aeiouy]")


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences, keeping abbreviations, initials and decimals intact."""
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        # Single newlines inside a paragraph are line wrapping from PDF/DOCX extraction,
        # except before a labelled line ("Returns: …"), which starts a sentence of its own.
        for part in _LABELLED_LINE.split(paragraph):
            flat = " ".join(part.split())
            if flat:
                sentences.extend(_split_paragraph(flat))
    return sentences


def _split_paragraph(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if _is_false_boundary(text[start:end], text[end:].lstrip()):
            continue
        piece = text[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def _is_false_boundary(before: str, after: str) -> bool:
    stripped = before.rstrip(CLOSERS)
    if stripped.endswith(("..", "\u2026")) and after[:1].islower():
        return True  # "(no data arrived, no interrupt occurred...) then it terminates."
    if not stripped.endswith(".") or stripped.endswith(".."):
        return False
    word_match = _WORD_BEFORE.search(stripped)
    if word_match is None:
        return False
    word = word_match.group(1).lower()
    next_is_capital = after[:1].isupper()
    if word in _SOMETIMES_FINAL:
        return not next_is_capital
    if word in _ABBREVIATIONS:
        return True
    # A single letter is an initial ("J. Smith") or a list label; either way not an end.
    return len(word) == 1 and word.isalpha()


def stem(word: str) -> str:
    """Light suffix stripping so "invoices", "invoiced" and "invoicing" meet."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch")):
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        # "speed" and "need" are not past tenses.
        if word.endswith(suffix) and not word.endswith("eed") and len(base) >= 3:
            if not _VOWEL.search(base):
                continue
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]  # running -> run
            return base[:-1] if base.endswith("e") else base
    # A final silent e goes so "rate", "rated" and "rating" share the stem "rat".
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def terms(text: str) -> list[str]:
    """Content terms of a text: lowercased, stopwords dropped, lightly stemmed."""
    found = []
    for token in _TOKEN.findall(text.lower()):
        if token in _STOPWORDS or (len(token) == 1 and not token.isdigit()):
            continue
        found.append(stem(token))
    return found


def names_in(question: str) -> frozenset[str]:
    """Terms of the names a question mentions: capitalised words after its first word.

    "What is the capital of Mongolia?" names "Mongolia"; a question typed mostly in
    capitals (a title) names nothing, since its capitals say nothing.
    """
    later = [w for w in _TOKEN.findall(question)[1:] if not w.isdigit()]
    if sum(w[:1].isupper() for w in later) * 2 > len(later):
        return frozenset()  # Title Case Or Shouting
    return frozenset(
        stem(w.lower())
        for w in later
        if w[:1].isupper() and len(w) > 1 and w.lower() not in _STOPWORDS
    )


@dataclass(frozen=True)
class TermWeights:
    """Inverse document frequency over a small pool of sentences.

    Terms that appear in every candidate sentence say little about which one
    answers the question, so they count for less.
    """

    document_frequency: dict[str, int]
    pool_size: int

    @classmethod
    def from_pool(cls, pool: Iterable[Collection[str]]) -> TermWeights:
        frequency: dict[str, int] = {}
        size = 0
        for term_set in pool:
            size += 1
            for term in set(term_set):
                frequency[term] = frequency.get(term, 0) + 1
        return cls(document_frequency=frequency, pool_size=size)

    def weight(self, term: str) -> float:
        seen = self.document_frequency.get(term, 0)
        return math.log(1.0 + (self.pool_size + 1) / (seen + 0.5))


def coverage(
    question_terms: Collection[str], sentence_terms: Collection[str], weights: TermWeights
) -> float:
    """Weighted share of the question's terms that the sentence contains (0..1)."""
    wanted = set(question_terms)
    if not wanted:
        return 0.0
    present = set(sentence_terms)
    total = sum(weights.weight(term) for term in wanted)
    matched = sum(weights.weight(term) for term in wanted & present)
    return matched / total


def jaccard(left: Collection[str], right: Collection[str]) -> float:
    a, b = set(left), set(right)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary so it fits in `limit` characters, marking the cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"
