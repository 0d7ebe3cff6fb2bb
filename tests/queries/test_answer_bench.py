"""bench/answers.py, the answer-quality bench: its question set is sound, and its scoring runs
on real answers (two documents of eval/answers/ through the real pipeline and ask service),
so the command cannot break silently."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context

from documents.extractors.registry import extract_file
from documents.filetypes import detect_file_content_type

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import answers  # noqa: E402 - bench/answers.py, found through the path above

BUSTER = "When was Debian 10 Buster released?"
ZLIB_LEVEL = "Which compression level is Z_DEFAULT_COMPRESSION equivalent to?"


def _question(text: str) -> answers.Question:
    return next(q for q in answers.load_questions() if q.question == text)


def _body(answer: str, *citations: tuple[int, str, int | None]) -> dict[str, Any]:
    return {
        "answer": answer,
        "citations": [
            {"marker": marker, "document_name": name, "page": page}
            for marker, name, page in citations
        ],
    }


def test_every_expected_phrase_is_in_one_place_of_its_document() -> None:
    """The set's phrases single out the right sentences: found in the named document (on the
    named page) as often as the question says (once, unless several sentences answer it),
    and in no other document of the set."""
    paths = answers.document_paths()
    texts = {}
    for path in paths:
        texts[path.name] = extract_file(path, detect_file_content_type(path, path.name)).blocks
    questions = answers.load_questions()
    assert 15 <= len(questions) <= 20
    assert {q.document for q in questions} == set(texts)  # every document is asked about
    for question in questions:
        phrase = answers.collapse(question.expect)
        found = [
            (name, block.page)
            for name, blocks in texts.items()
            for block in blocks
            for _ in range(answers.collapse(block.text).count(phrase))
        ]
        assert found == [(question.document, question.page)] * question.sentences, question


def test_the_first_sentence_ends_at_the_first_citation_marker() -> None:
    text = "Pass value[1] as the length [2]. Other words [1]."
    assert answers.first_sentence(text) == ("Pass value[1] as the length [2].", 2)
    nothing = "I couldn't find an answer to that in your documents."
    assert answers.first_sentence(nothing) == (nothing, None)


def test_scoring_tells_a_later_sentence_and_a_wrong_page_from_a_right_answer() -> None:
    question = answers.Question("Q?", "manual.pdf", "the right words", page=13)
    right = answers.score(question, _body("The right words [1]. More [2].", (1, "manual.pdf", 13)))
    assert (right.right_sentence, right.right_citation, right.note) == (True, True, "")
    later = answers.score(
        question,
        _body("Other words [1]. The right words [2].", (1, "manual.pdf", 13), (2, "x.pdf", 1)),
        rank=2,
    )
    assert (later.right_sentence, later.right_citation) == (False, True)
    assert later.note.startswith("right sentence later in the answer; right sentence in source 2")
    page = answers.score(question, _body("The right words [1].", (1, "manual.pdf", 12)))
    assert (page.right_sentence, page.right_citation) == (True, False)
    assert page.cited == "manual.pdf p. 12"
    assert page.note.startswith("right sentence, cited on the wrong page")
    none = answers.score(question, _body("I couldn't find an answer to that in your documents."))
    assert (none.right_sentence, none.right_citation, none.cited) == (False, False, "")
    assert none.note.startswith("no answer")


@pytest.mark.django_db
def test_the_bench_scores_real_answers_from_two_documents_of_the_set(make_tenant: Any) -> None:
    handle = make_tenant("answerbench")
    with schema_context(handle.schema):
        chunks = answers.ingest([answers.ANSWERS / "debian.csv", answers.ANSWERS / "zlib_how.html"])
        assert chunks >= 2
        buster, level = answers.run([_question(BUSTER), _question(ZLIB_LEVEL)])
        # The same Buster answer, scored against a question that expects another document.
        elsewhere = answers.score(
            answers.Question(BUSTER, "zlib_how.html", "equivalent to level 6"),
            {"answer": buster.answer, "citations": [{"marker": 1, "document_name": "debian.csv"}]},
        )
    # The answer quotes the Buster row first and cites the CSV.
    assert "codename: buster" in answers.collapse(buster.first_sentence)
    assert "release: 2019-07-06" in answers.collapse(buster.first_sentence)
    assert (buster.right_sentence, buster.right_citation, buster.cited) == (
        True,
        True,
        "debian.csv",
    )
    assert "equivalent to level 6" in level.first_sentence
    assert (level.right_sentence, level.right_citation, level.cited) == (
        True,
        True,
        "zlib_how.html",
    )
    assert (elsewhere.right_sentence, elsewhere.right_citation) == (False, False)
    assert elsewhere.note.startswith("first sentence from another document")
    table = answers.questions_table([buster, level, elsewhere])
    assert "version: 10 \\| codename: Buster" in table  # a CSV row's pipes do not split cells
    assert table.count("\n") == 4  # header, rule and one line per answer
