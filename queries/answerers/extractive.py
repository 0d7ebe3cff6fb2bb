"""The offline answerer: quote the sentences of the top sources that best match the question.

It never invents text, so it is the default backend and the fallback whenever a
generative provider fails. Scoring is term coverage (how much of the question a
sentence contains, rare terms counting more) times a mild prior that prefers
higher-ranked sources and earlier sentences. The relevance threshold ignores the
prior, so "nothing relevant" does not depend on where a sentence sits. The best sentence
leads the answer, whichever source it is in; headings are never quoted, and a sentence cut at
a chunk's edge is quoted whole, read across the edge from the text beside the chunk (or left
out when that text is not given).

With a `similarity` function (the tenant's embedder, when it is a semantic model that runs
in-process: queries/sentence_similarity.py), each candidate's score is also weighed by how
close its meaning is to the question's, so a sentence that says the same thing in other
words can lead over one that only repeats the question's words.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from queries.answerers.base import Answer, AnswerEvent, Citation, Source, no_answer
from queries.answerers.sanitize import strip_invisible
from queries.answerers.sentences import (
    CLOSERS,
    TermWeights,
    coverage,
    jaccard,
    names_in,
    shorten,
    split_sentences,
    terms,
)

# Same-sentence detection across overlapping chunks; 0.7 still lets a paraphrase with new facts in.
_REDUNDANT_JACCARD = 0.7
_PLAIN_END = re.compile(r"[.!?]$")
_LIST_ITEM = re.compile(r"^(?:[-•*▪◦]|\(?[0-9a-z]{1,3}[.)])\s")
_HEADING_MAX_WORDS = 5
_LABELLED = re.compile(r"^[A-Z][A-Za-z]{1,20}(?: [a-z]{1,12})?: ")  # "Returns: …", "Usage: …"
_FRAGMENT_WORDS = 4  # fewer words: a heading or label even with a full stop
# (question, sentences) -> cosine similarity of each sentence to the question, or None when
# no semantic model is at hand.
Similarity = Callable[[str, Sequence[str]], Sequence[float] | None]
# A candidate's score is multiplied by SIMILARITY_FLOOR + its cosine similarity (clipped at 0):
# MiniLM puts a sentence that answers at 0.5-0.8 and an unrelated one at 0.0-0.3, a factor of
# about 1.5 between them, enough to reorder sentences of similar word overlap.
SIMILARITY_FLOOR = 0.5
SIMILARITY_CANDIDATES = 12  # the best by word overlap that are embedded (~10 ms each on a core)


@dataclass(frozen=True)
class _Candidate:
    source_rank: int
    position: int
    text: str
    terms: frozenset[str]
    coverage: float
    score: float


class ExtractiveAnswerer:
    """Answer by quoting up to `max_sentences` sentences from the top `max_sources` sources.

    min_coverage: weighted share of the question's terms a sentence must contain
        to be used at all (0.3 ≈ one of three equally rare terms) ...
    min_matched_terms: ... or how many distinct question terms it must contain, so
        long questions (ten terms and more) can still be answered by a sentence
        that matches a few of them.
    relative_cutoff: later sentences must score at least this fraction of the best,
        so a strong answer is not padded with weak neighbours.
    """

    name = "extractive"

    def __init__(
        self,
        *,
        max_sentences: int = 3,
        max_sources: int = 5,
        min_coverage: float = 0.3,
        min_matched_terms: int = 3,
        relative_cutoff: float = 0.5,
        max_sentence_chars: int = 400,
        max_quote_chars: int = 300,
        similarity: Similarity | None = None,
    ) -> None:
        if max_sentences < 1 or max_sources < 1:
            raise ValueError("max_sentences and max_sources must be at least 1.")
        if not 0.0 < min_coverage <= 1.0 or not 0.0 <= relative_cutoff <= 1.0:
            raise ValueError("min_coverage must be in (0, 1] and relative_cutoff in [0, 1].")
        self.max_sentences = max_sentences
        self.max_sources = max_sources
        self.min_coverage = min_coverage
        self.min_matched_terms = min_matched_terms
        self.relative_cutoff = relative_cutoff
        self.max_sentence_chars = max_sentence_chars
        self.max_quote_chars = max_quote_chars
        self.similarity = similarity

    def answer(self, question: str, sources: Sequence[Source]) -> Answer:
        answer, _pieces = self._build(question, sources)
        return answer

    def stream(self, question: str, sources: Sequence[Source]) -> Iterator[AnswerEvent]:
        """Yield the answer sentence by sentence; the deltas concatenate to the final text."""
        answer, pieces = self._build(question, sources)
        for piece in pieces:
            yield ("delta", piece)
        yield ("done", answer)

    def _build(self, question: str, sources: Sequence[Source]) -> tuple[Answer, list[str]]:
        top = list(sources[: self.max_sources])
        picks = self._select(question, top)
        if not picks:
            empty = no_answer(self.name)
            return empty, [empty.text]

        # The best-matching sentence leads, whichever source it is in; the rest follow by score
        # (a question is answered by its best sentence, not by the top source's first one).
        picks.sort(key=lambda c: (-c.score, c.source_rank, c.position))
        markers: dict[int, int] = {}
        quotes: dict[int, list[str]] = {}
        pieces: list[str] = []
        for pick in picks:
            marker = markers.setdefault(pick.source_rank, len(markers) + 1)
            quotes.setdefault(pick.source_rank, []).append(shorten(pick.text, self.max_quote_chars))
            sentence = _with_marker(shorten(pick.text, self.max_sentence_chars), marker)
            pieces.append(sentence if not pieces else " " + sentence)

        citations = []
        for rank, marker in markers.items():
            source = top[rank]
            citations.append(
                Citation(
                    marker=marker,
                    chunk_id=source.chunk_id,
                    document_id=source.document_id,
                    document_name=source.document_name,
                    page=source.page,
                    quote=" … ".join(quotes[rank]),
                    section=source.section,
                )
            )
        answer = Answer(text="".join(pieces), citations=citations, backend=self.name)
        return answer, pieces

    def _select(self, question: str, sources: Sequence[Source]) -> list[_Candidate]:
        question_terms = frozenset(terms(question))
        if not question_terms:
            return []
        raw: list[tuple[int, int, str, frozenset[str]]] = []
        named: set[str] = set()  # every term of the sources, headings and sections too
        for rank, source in enumerate(sources):
            # A table row reads "version: 10 | codename: buster": what the table is about is
            # in its file or sheet name ("debian.csv"), which the row is matched with too.
            table_terms = frozenset(terms(f"{_name_stem(source.document_name)} {source.section}"))
            named.update(table_terms)
            # Invisible and bidi characters could make a quoted answer display differently.
            sentences = split_sentences(strip_invisible(source.text))
            for position, sentence in enumerate(sentences):
                sentence_terms = frozenset(terms(sentence))
                named.update(sentence_terms)
                if _is_heading(sentence):  # a heading names a topic, it answers nothing
                    continue
                if _cut_at_chunk_edge(sentence, position, sentences):
                    # Half a sentence: read its other half from the neighbouring text, or skip it.
                    whole = _completed(sentence, position, source)
                    if whole is None:
                        continue
                    sentence, sentence_terms = whole, frozenset(terms(whole))
                    named.update(sentence_terms)
                if " | " in sentence:
                    sentence_terms |= table_terms
                elif position and _LABELLED.match(sentence):
                    # "Returns: …" answers about what the line before it names (the function).
                    sentence_terms |= frozenset(terms(sentences[position - 1]))
                raw.append((rank, position, sentence, sentence_terms))
        if names_in(question) - named:
            return []  # the question is about someone or something the sources never name
        weights = TermWeights.from_pool(sentence_terms for *_, sentence_terms in raw)
        wants = _expected_answer(question)

        candidates = []
        for rank, position, sentence, sentence_terms in raw:
            relevance = coverage(question_terms, sentence_terms, weights)
            matched = len(question_terms & sentence_terms)
            if relevance < self.min_coverage and matched < self.min_matched_terms:
                continue
            score = relevance * _prior(rank, position, len(sentence.split()))
            score *= _answer_type_bonus(wants, sentence)
            candidates.append(
                _Candidate(rank, position, sentence, sentence_terms, relevance, score)
            )
        # A fragment ("Notice period.") names a topic; it answers only when nothing fuller does.
        if any(len(c.text.split()) >= _FRAGMENT_WORDS for c in candidates):
            candidates = [c for c in candidates if len(c.text.split()) >= _FRAGMENT_WORDS]
        # Ties go to the better-ranked source and the earlier sentence, so output is stable.
        candidates.sort(key=lambda c: (-c.score, c.source_rank, c.position))
        candidates = self._weigh_meaning(question, candidates)

        picks: list[_Candidate] = []
        seen_texts: set[str] = set()
        for candidate in candidates:
            if len(picks) == self.max_sentences:
                break
            if picks and candidate.score < self.relative_cutoff * picks[0].score:
                break
            normalised = " ".join(candidate.text.lower().split())
            if normalised in seen_texts or any(
                jaccard(candidate.terms, pick.terms) >= _REDUNDANT_JACCARD for pick in picks
            ):
                continue
            seen_texts.add(normalised)
            picks.append(candidate)
        return picks

    def _weigh_meaning(self, question: str, candidates: list[_Candidate]) -> list[_Candidate]:
        """The best candidates re-scored by their similarity of meaning to the question."""
        if self.similarity is None or len(candidates) < 2:
            return candidates
        head = candidates[:SIMILARITY_CANDIDATES]
        similarities = self.similarity(question, [c.text for c in head])
        if similarities is None:
            return candidates
        # A table row ("version: 10 | codename: buster") is not prose: a sentence model places
        # it badly, so it counts as the middle of the others, neither pushed nor held back.
        pairs = list(zip(head, map(float, similarities), strict=True))
        prose = sorted(sim for c, sim in pairs if " | " not in c.text)
        middle = prose[len(prose) // 2] if prose else 0.0
        weighed = [
            dataclasses.replace(
                c,
                score=c.score * (SIMILARITY_FLOOR + max(0.0, middle if " | " in c.text else sim)),
            )
            for c, sim in pairs
        ]
        weighed.sort(key=lambda c: (-c.score, c.source_rank, c.position))
        # The rest, not embedded, count as unrelated in meaning (and scored lower on words).
        rest = [
            dataclasses.replace(c, score=c.score * SIMILARITY_FLOOR)
            for c in candidates[SIMILARITY_CANDIDATES:]
        ]
        return weighed + rest


def _is_heading(sentence: str) -> bool:
    """A short line without closing punctuation that is not a list item: "Notice period"."""
    if _PLAIN_END.search(sentence.rstrip(CLOSERS)) or _LIST_ITEM.match(sentence):
        return False
    return len(sentence.split()) < _HEADING_MAX_WORDS


def _cut_at_chunk_edge(sentence: str, position: int, sentences: Sequence[str]) -> bool:
    """A chunk's first sentence that starts mid-sentence (lower case where the chunk's other
    sentences start upper case), or its last one that stops without closing punctuation
    ("…len will contain"): half a sentence, whose other half is in the neighbouring chunk."""
    stripped = sentence.strip()
    if not stripped or _LIST_ITEM.match(stripped) or len(sentences) < 2:
        return False
    if " | " in stripped:
        return False  # a table row ("version: 10 | codename: buster"): whole by construction
    if position == 0 and stripped[0].islower():
        return any(other.strip()[:1].isupper() for other in sentences[1:])
    last = position == len(sentences) - 1
    return last and not _PLAIN_END.search(stripped.rstrip(CLOSERS))


_WHEN = re.compile(r"^\s*(?:when|since when|until when|what (?:year|date|day))\b", re.I)
_HOW_MUCH = re.compile(
    r"^\s*(?:how (?:many|much|long|large|big|often|old)|what (?:size|number))\b", re.I
)
_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b\d{4}-\d\d-\d\d\b|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct"
    r"|nov|dec)[a-z]*\.? \d",
    re.I,
)
_QUANTITY = re.compile(r"\d")
ANSWER_TYPE_BONUS = 1.2  # a sentence holding the kind of answer the question asks for


def _expected_answer(question: str) -> re.Pattern[str] | None:
    """What a sentence must hold to answer the question's kind: a date for "when", a
    number for "how many/much/long"; None for other questions."""
    if _WHEN.match(question):
        return _DATE
    if _HOW_MUCH.match(question):
        return _QUANTITY
    return None


def _answer_type_bonus(wants: re.Pattern[str] | None, sentence: str) -> float:
    return ANSWER_TYPE_BONUS if wants is not None and wants.search(sentence) else 1.0


def _name_stem(filename: str) -> str:
    """'debian-releases.csv' → 'debian-releases'."""
    return filename.rsplit(".", 1)[0] if "." in filename else filename


def _completed(sentence: str, position: int, source: Source) -> str | None:
    """The whole sentence a chunk holds only part of, read across the chunk's edge from the
    text beside it; None when that text does not finish it (or was not given)."""
    cut = sentence.strip()
    if position == 0 and source.before:
        for whole in split_sentences(source.before + source.text):
            if whole.endswith(cut) and len(whole) > len(cut):
                return whole if whole[:1].isupper() or whole[:1].isdigit() else None
    if position > 0 and source.after:
        for whole in split_sentences(source.text + source.after):
            if whole.startswith(cut) and len(whole) > len(cut):
                return whole if _PLAIN_END.search(whole.rstrip(CLOSERS)) else None
    return None


def _prior(source_rank: int, position: int, word_count: int) -> float:
    """Between 0.4 and 1: a nudge, not a veto, towards top sources and lead sentences."""
    rank_prior = 1.0 - 0.2 * min(source_rank, 5) / 5
    position_prior = 1.0 - 0.1 * min(position, 5) / 5
    # Headings and fragments ("Revenue.") match keywords but rarely answer anything.
    length_prior = 1.0 if word_count >= 4 else 0.6
    return rank_prior * position_prior * length_prior


def _with_marker(sentence: str, marker: int) -> str:
    if _PLAIN_END.search(sentence):
        return f"{sentence[:-1].rstrip()} [{marker}]{sentence[-1]}"
    return f"{sentence} [{marker}]"
