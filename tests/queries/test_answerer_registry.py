"""The answerer registry has the extractors' and embedders' shape: register, list, get, and
unknown names refused with a sentence naming the choices."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from queries.answerers import (
    NO_ANSWER_TEXT,
    Answer,
    Answerer,
    AnswerEvent,
    Source,
    available_backends,
    check_backend,
    get_answerer,
    register_backend,
    registry,
)


class Silent:
    """An answerer that never finds anything, configured by one option."""

    name = "silent"

    def __init__(self, *, note: str = "") -> None:
        self.note = note

    def answer(self, question: str, sources: Sequence[Source]) -> Answer:
        return Answer(text=NO_ANSWER_TEXT, citations=[], backend=self.name)

    def stream(self, question: str, sources: Sequence[Source]) -> Iterator[AnswerEvent]:
        yield ("done", self.answer(question, sources))


@pytest.fixture
def silent() -> Iterator[str]:
    register_backend("Silent", Silent)
    yield "silent"
    registry._FACTORIES.pop("silent", None)


def test_the_built_ins_are_listed_and_built() -> None:
    assert {"extractive", "openai"} <= set(available_backends())
    assert available_backends() == sorted(available_backends())
    assert isinstance(get_answerer("extractive"), Answerer)


def test_an_unknown_name_is_refused_with_a_sentence_naming_the_choices() -> None:
    choices = ", ".join(available_backends())
    expected = f"Unknown answer backend 'gpt-magic'; choose one of: {choices}."
    with pytest.raises(ValueError, match="Unknown answer backend") as caught:
        check_backend("gpt-magic")
    assert str(caught.value) == expected
    with pytest.raises(ValueError, match="Unknown answer backend") as caught:
        get_answerer("gpt-magic")
    assert str(caught.value) == expected


def test_names_are_matched_without_case_or_blanks() -> None:
    assert check_backend(" Extractive ") == "extractive"
    assert get_answerer("EXTRACTIVE").name == get_answerer("extractive").name


def test_a_registered_backend_is_listed_and_built_with_its_options(silent) -> None:
    assert silent in available_backends()
    answerer = get_answerer(silent, note="hi")
    assert isinstance(answerer, Silent)
    assert isinstance(answerer, Answerer)
    assert answerer.note == "hi"
    assert answerer.answer("Why?", []).text == NO_ANSWER_TEXT
    with pytest.raises(ValueError, match="unknown option"):
        get_answerer(silent, colour="blue")


def test_a_name_is_registered_once_unless_replaced(silent) -> None:
    with pytest.raises(ValueError, match="'SILENT' is already registered"):
        register_backend("SILENT", Silent)
    register_backend(silent, lambda **options: Silent(note="replaced", **options), replace=True)
    replaced = get_answerer(silent)
    assert isinstance(replaced, Silent)
    assert replaced.note == "replaced"
