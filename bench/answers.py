"""Answer quality on real public documents: is the right sentence first, is the right one cited.

    .venv/bin/python bench/answers.py

Builds a platform of its own, as bench/backup.py does: a scratch database on the server of
DATABASE_URL (created here and dropped at the end; the database DATABASE_URL names is never
touched), MEDIA_ROOT and INDEX_ROOT in a temporary folder, cache keys and queue names of
its own. It provisions one tenant, uploads every document of eval/answers/ and runs the
ingestion pipeline on them in this process (what a worker does, minus the queue), compacts
the search index as the compaction task would, then asks each question of
eval/answers/questions.json through `queries.services.ask`, the service POST /api/v1/ask/
calls, with the configured defaults (EMBEDDING_BACKEND, ANSWER_BACKEND). Each answer is
scored twice:

- *right sentence first*: the answer's first sentence (its text up to the first citation
  marker, which the extractive answerer puts at the end of every sentence it quotes)
  contains the question's `expect` phrase, compared case-insensitively with whitespace
  collapsed;
- *right citation*: the citation of that first marker is in the question's `document`,
  and on its `page` when the question gives one.

Prints a table per question and the totals (progress on stderr) and writes both into the
"Answer quality" section of docs/benchmarks.md. Questions and licences: eval/README.md.
The scoring functions work in whatever tenant is current, which is how
tests/queries/test_answer_bench.py runs them on two documents of the set.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ANSWERS = ROOT / "eval" / "answers"
QUESTIONS = ANSWERS / "questions.json"
SCRATCH, WORK = scratch.names("bench_answers")  # WORK is made by main()
if __name__ == "__main__":
    # Run as the bench: a platform of its own. Imported (by the test), it uses the caller's.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "0")  # as bench/query.py: production's settings
    os.environ.update(scratch.environment(SCRATCH, WORK))
    import django

    django.setup()

from django.conf import settings  # noqa: E402
from django_tenants.utils import tenant_context  # noqa: E402
from report import markdown_table, write_section  # noqa: E402

from documents import services as documents  # noqa: E402
from documents.pipeline import process_documents  # noqa: E402
from documents.sandbox import shutdown_sandbox  # noqa: E402
from queries import services  # noqa: E402
from search import index  # noqa: E402
from tenants.services import provision_tenant  # noqa: E402

# A citation marker as answers write it: " [2]" after a sentence's last word. The space
# keeps quoted code such as "value[1]" from being taken for one.
MARKER = re.compile(r"\s\[(\d{1,3})\][.!?]?")
NOT_DOCUMENTS = {"questions.json"}
SHOWN_CHARS = 100
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Question:
    question: str
    document: str  # a file name in eval/answers/
    expect: str  # a phrase only the right sentence of that document contains
    page: int | None = None  # for paged formats: the page the right sentence is on
    sentences: int = 1  # how many sentences of the document contain `expect`, each a right one


@dataclass(frozen=True)
class Scored:
    question: Question
    answer: str
    first_sentence: str
    cited: str  # "name" or "name p. N" of the first marker's citation; "" without one
    right_sentence: bool
    right_citation: bool
    note: str  # for a miss: where the answer and the right passage were


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    raw = json.loads(path.read_text())
    return [Question(**item) for item in raw]


def document_paths(folder: Path = ANSWERS) -> list[Path]:
    """The documents of the set: the folder's files, not its questions, README or licences."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.name not in NOT_DOCUMENTS and path.suffix != ".md"
    )


def collapse(text: str) -> str:
    return " ".join(text.lower().split())


def ingest(paths: Sequence[Path], progress: Progress = lambda _: None) -> int:
    """Upload `paths` into the current tenant, run the pipeline on them here, and compact
    the index as the task that follows an upload does; how many chunks they made. A document
    the pipeline does not make ready stops the bench (its answers would mean nothing)."""
    chunks = 0
    for path in paths:
        started = time.perf_counter()
        data = path.read_bytes()
        upload = documents.Upload(io.BytesIO(data), path.name, len(data))
        document = documents.create_document(upload=upload, uploaded_by=None, enqueue=False)
        (result,) = process_documents([document.pk])
        if result.outcome != "ready":
            raise SystemExit(f"{path.name} was not ingested ({result.outcome}): {result.error}")
        chunks += result.chunk_count
        seconds = time.perf_counter() - started
        progress(f"ingested {path.name}: {result.chunk_count} chunks in {seconds:.1f} s")
    index.compact(rebuild=True)
    return chunks


def ask(question: Question) -> dict[str, Any]:
    """The ask response body, as the API builds it (not from the cache)."""
    return services.ask(question=question.question, caller=services.Caller(), use_cache=False)


def first_sentence(answer: str) -> tuple[str, int | None]:
    """The answer up to and including its first citation marker, and that marker's number;
    the whole answer and None when it cites nothing."""
    match = MARKER.search(answer)
    if match is None:
        return answer.strip(), None
    return answer[: match.end()].strip(), int(match.group(1))


def source_rank(question: Question) -> int | None:
    """Which of the sources an answer is made from (1-based) holds the right sentence;
    None when none of them does. Retrieves as the ask service does, through search."""
    body = services.search(
        text=question.question,
        caller=services.Caller(),
        mode="hybrid",
        top_k=int(settings.ANSWER_SOURCES),
        use_cache=False,
    )
    for rank, hit in enumerate(body["results"], start=1):
        if hit["document_name"] == question.document and collapse(question.expect) in collapse(
            hit["text"]
        ):
            return rank
    return None


def score(question: Question, body: dict[str, Any], rank: int | None = None) -> Scored:
    """Score one ask response body; `rank` (from source_rank) only explains a miss."""
    answer = str(body["answer"])
    sentence, marker = first_sentence(answer)
    citation = next((c for c in body["citations"] if c["marker"] == marker), None)
    cited, name = "", ""
    if citation is not None:
        name, page = str(citation["document_name"]), citation.get("page")
        cited = name + (f" p. {page}" if page else "")
    right_sentence = collapse(question.expect) in collapse(sentence)
    right_citation = (
        name == question.document
        and citation is not None
        and (question.page is None or citation.get("page") == question.page)
    )
    note = ""
    if not (right_sentence and right_citation):
        note = explain(question, answer, name, right_sentence, rank)
    return Scored(question, answer, sentence, cited, right_sentence, right_citation, note)


def explain(
    question: Question, answer: str, cited_name: str, right_sentence: bool, rank: int | None
) -> str:
    """One line on a miss: what the answer did, and where the right sentence was."""
    sources = int(settings.ANSWER_SOURCES)
    where = (
        f"right sentence in source {rank} of {sources}"
        if rank
        else f"right sentence in none of the {sources} sources"
    )
    if not cited_name:
        return f"no answer; {where}"
    if cited_name != question.document:
        return f"first sentence from another document; {where}"
    if not right_sentence:
        later = collapse(question.expect) in collapse(answer)
        what = "right sentence later in the answer" if later else "right sentence not quoted"
        return f"{what}; {where}"
    return f"right sentence, cited on the wrong page; {where}"


def run(questions: Sequence[Question], progress: Progress = lambda _: None) -> list[Scored]:
    scored = []
    for number, question in enumerate(questions, start=1):
        result = score(question, ask(question), source_rank(question))
        scored.append(result)
        marks = f"{mark(result.right_sentence)}{mark(result.right_citation)}"
        progress(f"[{number}/{len(questions)}] {marks} {question.question}")
    return scored


def mark(right: bool) -> str:
    return "✓" if right else "✗"


def cell(text: str, limit: int | None = None) -> str:
    """Text for a Markdown table cell: one line, pipes escaped, cut to `limit` characters."""
    flat = " ".join(text.split())
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat.replace("|", "\\|")


def totals_table(scored: Sequence[Scored]) -> str:
    def row(label: str, items: Sequence[Scored]) -> list[object]:
        both = sum(s.right_sentence and s.right_citation for s in items)
        return [
            label,
            len(items),
            sum(s.right_sentence for s in items),
            sum(s.right_citation for s in items),
            both,
        ]

    names = list(dict.fromkeys(s.question.document for s in scored))
    rows = [row(name, [s for s in scored if s.question.document == name]) for name in names]
    rows.append(row("**all**", scored))
    header = ["document", "questions", "right sentence first", "right citation", "both"]
    return markdown_table(header, rows)


def questions_table(scored: Sequence[Scored]) -> str:
    rows = [
        [
            number,
            cell(s.question.question),
            f"{s.question.document}" + (f" p. {s.question.page}" if s.question.page else ""),
            cell(s.first_sentence, SHOWN_CHARS),
            cell(s.cited) or "—",
            mark(s.right_sentence),
            mark(s.right_citation),
            cell(s.note),
        ]
        for number, s in enumerate(scored, start=1)
    ]
    header = ["#", "question", "expected in", "first sentence", "cites", "sentence", "citation"]
    return markdown_table([*header, "miss"], rows)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build() -> None:
    """The scratch database, migrated, for the tenant the questions are asked in."""
    scratch.create_database(SCRATCH)


def cleanup() -> None:
    shutdown_sandbox()
    scratch.remove(SCRATCH, WORK)


def measure(questions: Sequence[Question], paths: Sequence[Path]) -> tuple[list[Scored], int]:
    build()
    provisioned = provision_tenant(
        schema_name="bench_answers",
        name="Bench Answers",
        domain="bench-answers.localhost",
        plan="enterprise",
        admin_email="bench@bench-answers.invalid",
        admin_password=secrets.token_urlsafe(20),
    )
    with tenant_context(provisioned.tenant):
        chunks = ingest(paths, say)
        return run(questions, say), chunks


def describe(scored: Sequence[Scored], paths: Sequence[Path], chunks: int) -> str:
    return (
        f"{len(scored)} questions over {len(paths)} public documents in eval/answers/ "
        f"({', '.join(path.name for path in paths)}; {chunks} chunks), all in one tenant, "
        f"asked through `queries.services.ask` (the service of POST /api/v1/ask/) with the "
        f"{settings.EMBEDDING_BACKEND} embedder and the {settings.ANSWER_BACKEND} answerer, "
        "uncached. *Sentence*: the "
        "answer's first sentence (its text up to the first citation marker) contains the "
        "question's expected phrase, a phrase only the right sentence of the document "
        "contains (case and whitespace ignored). *Citation*: that marker's citation is the "
        "question's document, and its page for the PDF (pages counted from the file's first "
        "page). *First sentence* is cut to 100 characters here; *miss* says what the answer "
        f"did and which of the {settings.ANSWER_SOURCES} sources the answer is made from (the "
        "hybrid search top) held the right sentence. Questions, phrases and licences: "
        "eval/README.md."
    )


def main() -> None:
    questions = load_questions()
    paths = document_paths()
    missing = sorted({q.document for q in questions} - {path.name for path in paths})
    if missing:
        raise SystemExit(f"questions name documents that are not in eval/answers/: {missing}")
    WORK.mkdir()
    try:
        scored, chunks = measure(questions, paths)
    finally:
        cleanup()
    body = f"{totals_table(scored)}\n\n{questions_table(scored)}"
    notes = describe(scored, paths, chunks)
    print(f"\n{body}\n\n{notes}")
    write_section("answers", "Answer quality", body, notes=notes)


if __name__ == "__main__":
    main()
