"""Sentence splitting for answers: ellipses inside a sentence, labelled lines."""

from __future__ import annotations

from queries.answerers.sentences import split_sentences


def test_an_ellipsis_before_a_lower_case_word_does_not_end_the_sentence():
    text = "Nothing happened (no data arrived, no interrupt occurred...) then it ends. Next one."
    assert split_sentences(text) == [
        "Nothing happened (no data arrived, no interrupt occurred...) then it ends.",
        "Next one.",
    ]


def test_a_labelled_line_starts_a_sentence_and_wrapped_lines_do_not():
    text = (
        "int asn1_strerror (int error) [Function]\nerror: an error code\n"
        "Returns: a pointer to a string describing\nthe error."
    )
    assert split_sentences(text) == [
        "int asn1_strerror (int error) [Function] error: an error code",
        "Returns: a pointer to a string describing the error.",
    ]
