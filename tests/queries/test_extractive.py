"""The offline extractive answerer and its sentence tools."""

from __future__ import annotations

from dataclasses import replace

import pytest

from queries.answerers import NO_ANSWER_TEXT, Answer, Answerer, Source, get_answerer
from queries.answerers.extractive import ExtractiveAnswerer
from queries.answerers.sentences import split_sentences, stem, terms


def _source(chunk_id: int, text: str, *, document_id: int | None = None) -> Source:
    return Source(
        chunk_id=chunk_id,
        document_id=document_id if document_id is not None else chunk_id * 10,
        document_name=f"doc-{chunk_id}.pdf",
        page=chunk_id,
        section="",
        text=text,
    )


REPORT = _source(
    1,
    "Acme Corp. was founded in 1999 by Dr. J. Smith in Oslo. "
    "Total revenue in 2023 was $4.5 million, up 12% from 2022. "
    "The company employs 48 people.",
)
MINUTES = _source(
    2,
    "The board met on 3 March. Revenue growth in 2023 came mostly from the Nordic market. "
    "Coffee was served.",
)
UNRELATED = _source(3, "The cafeteria opens at 8 am. Parking is free for visitors.")


SPLIT_CASES = [
    (
        "Dr. Smith paid $3.5 million, e.g. for the U.S. office. J. Doe agreed! Was it true?",
        [
            "Dr. Smith paid $3.5 million, e.g. for the U.S. office.",
            "J. Doe agreed!",
            "Was it true?",
        ],
    ),
    ("See Fig. 3 and p. 12 for details. Next.", ["See Fig. 3 and p. 12 for details.", "Next."]),
    (
        "Apples, pears, etc. are fruit. Fine etc. The end.",
        ["Apples, pears, etc. are fruit.", "Fine etc.", "The end."],
    ),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    (
        "line one wraps\nonto two.\n\nHeading\n- bullet a\n- bullet b",
        ["line one wraps onto two.", "Heading", "- bullet a", "- bullet b"],
    ),
    ("version 2.1.3 is out. ok", ["version 2.1.3 is out.", "ok"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), SPLIT_CASES)
def test_split_sentences(text: str, expected: list[str]):
    assert split_sentences(text) == expected


def test_terms_drop_stopwords_and_share_stems():
    assert terms("What were the invoices invoiced in 2023?") == ["invoic", "invoic", "2023"]
    assert stem("running") == stem("run") == "run"
    assert stem("companies") == "company"
    assert terms("$4.5 million") == ["4.5", "million"]


def test_answer_quotes_best_sentences_with_markers_in_source_order():
    answer = ExtractiveAnswerer().answer(
        "What was the total revenue in 2023?", [REPORT, MINUTES, UNRELATED]
    )

    assert answer.text == (
        "Total revenue in 2023 was $4.5 million, up 12% from 2022 [1]. "
        "Revenue growth in 2023 came mostly from the Nordic market [2]."
    )
    assert answer.backend == "extractive"
    assert answer.degraded is False
    assert answer.usage is None
    assert [(c.marker, c.chunk_id, c.document_id, c.page) for c in answer.citations] == [
        (1, 1, 10, 1),
        (2, 2, 20, 2),
    ]
    assert answer.citations[0].quote == "Total revenue in 2023 was $4.5 million, up 12% from 2022."


def test_markers_number_cited_sources_in_order_of_appearance():
    # Only the third source is relevant, so it becomes [1].
    answer = ExtractiveAnswerer().answer(
        "When does the cafeteria open?", [REPORT, MINUTES, UNRELATED]
    )

    assert answer.text == "The cafeteria opens at 8 am [1]."
    assert [(c.marker, c.chunk_id) for c in answer.citations] == [(1, 3)]


def test_several_sentences_from_one_source_share_one_citation():
    source = _source(
        5,
        "Leave requests go to your manager. Leave requests need two weeks notice. "
        "The office has a gym.",
    )

    answer = ExtractiveAnswerer().answer("How do leave requests work?", [source])

    assert answer.text == (
        "Leave requests go to your manager [1]. Leave requests need two weeks notice [1]."
    )
    assert len(answer.citations) == 1
    assert answer.citations[0].quote == (
        "Leave requests go to your manager. … Leave requests need two weeks notice."
    )


def test_duplicate_sentences_from_overlapping_chunks_are_used_once():
    text = "Total revenue in 2023 was $4.5 million."
    answer = ExtractiveAnswerer().answer(
        "total revenue 2023", [_source(1, text, document_id=1), _source(2, text, document_id=1)]
    )

    assert answer.text == "Total revenue in 2023 was $4.5 million [1]."
    assert len(answer.citations) == 1


def test_at_most_max_sentences():
    text = (
        "The revenue report is due in January. Finance files the revenue report with the board. "
        "A late revenue report needs sign-off. The revenue report template lives on the wiki."
    )

    answer = ExtractiveAnswerer(max_sentences=2).answer("revenue report", [_source(1, text)])

    assert answer.text.count("[1]") == 2


@pytest.mark.parametrize(
    ("question", "sources"),
    [
        ("Who is the CEO of Globex?", [UNRELATED]),
        ("What was the total revenue?", []),
        ("the and of?", [REPORT]),
        ("What was the total revenue?", [_source(9, "   ")]),
    ],
)
def test_nothing_relevant_says_so_plainly(question: str, sources: list[Source]):
    answer = ExtractiveAnswerer().answer(question, sources)

    assert answer.text == NO_ANSWER_TEXT
    assert answer.citations == []


def test_stream_yields_sentence_by_sentence_then_done():
    answerer = ExtractiveAnswerer()
    question = "What was the total revenue in 2023?"

    events = list(answerer.stream(question, [REPORT, MINUTES]))

    kinds = [kind for kind, _ in events]
    assert kinds == ["delta", "delta", "done"]
    final = events[-1][1]
    assert isinstance(final, Answer)
    assert "".join(str(payload) for kind, payload in events[:-1]) == final.text
    assert final == answerer.answer(question, [REPORT, MINUTES])


def test_stream_when_nothing_found():
    events = list(ExtractiveAnswerer().stream("Who is the CEO?", [UNRELATED]))

    assert events[0] == ("delta", NO_ANSWER_TEXT)
    assert events[-1][0] == "done"


def test_invisible_characters_do_not_reach_the_answer():
    source = _source(1, "Total revenue in 2023\u200b was \u202e$4.5 million.")

    answer = ExtractiveAnswerer().answer("total revenue 2023", [source])

    assert answer.text == "Total revenue in 2023 was $4.5 million [1]."


def test_long_sentences_are_shortened():
    source = _source(1, "The revenue " + "figure " * 200 + "ends here.")

    answer = ExtractiveAnswerer(max_sentence_chars=100, max_quote_chars=50).answer(
        "revenue figure", [source]
    )

    assert len(answer.text) <= 105
    assert answer.text.endswith("… [1]")
    assert len(answer.citations[0].quote) <= 50


def test_registry_and_protocol():
    answerer = get_answerer("extractive", max_sentences=1)

    assert isinstance(answerer, ExtractiveAnswerer)
    assert isinstance(answerer, Answerer)
    with pytest.raises(ValueError, match="choose one of: extractive, openai"):
        get_answerer("gpt-magic")
    with pytest.raises(ValueError, match="unknown option"):
        get_answerer("extractive", colour="blue")


def test_rejects_nonsense_options():
    with pytest.raises(ValueError, match="at least 1"):
        ExtractiveAnswerer(max_sentences=0)


def test_long_questions_are_answered_by_sentences_matching_several_terms():
    source = _source(
        1,
        "complete similarity obtains only when aircraft and model are identical . "
        "wind tunnels are expensive .",
    )
    question = (
        "what similarity laws must be obeyed when constructing aeroelastic models "
        "of heated high speed aircraft ."
    )

    answer = ExtractiveAnswerer().answer(question, [source])

    assert answer.text == (
        "complete similarity obtains only when aircraft and model are identical [1]."
    )


HANDBOOK = _source(
    4,
    "Notice period\n\nEither party may end the contract with 30 days' notice in writing.\n\n"
    "Remote work\n\nStaff may work remotely two days a week.\n\n"
    "Hotel costs are reimbursed up to 150 euros per night in capital cities.\n\n"
    "Holiday\n\n- 25 days of paid holiday\n- 3 days between Christmas and New Year",
)


def test_headings_are_not_quoted_as_answers():
    answer = ExtractiveAnswerer().answer("What is the notice period?", [HANDBOOK])

    assert answer.text.startswith("Either party may end the contract with 30 days' notice")
    assert "Notice period [" not in answer.text


def test_list_items_still_answer():
    answer = ExtractiveAnswerer().answer("How many days of paid holiday?", [HANDBOOK])

    assert "25 days of paid holiday [1]" in answer.text


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Mongolia?", "Does the GDPR apply to remote work?"],
)
def test_a_question_about_a_name_the_sources_never_mention_is_not_answered(question: str):
    # "capital" and "remote work" match sentences, but what the question names is absent.
    answer = ExtractiveAnswerer().answer(question, [HANDBOOK])

    assert answer.text == NO_ANSWER_TEXT
    assert answer.citations == []


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When was Acme Corp. founded?", "founded in 1999"),  # the name is in the source
        ("What Was The Total Revenue?", "revenue in 2023"),  # title case names nothing
    ],
)
def test_names_the_sources_mention_are_answered(question: str, expected: str):
    answer = ExtractiveAnswerer().answer(question, [REPORT, MINUTES])

    assert expected in answer.text


def test_the_best_matching_sentence_leads_even_from_a_lower_ranked_source():
    retries = _source(
        1,
        "The retry option sets how many times socat tries to connect again. "
        "Use forever to retry without end.",
    )
    timeout = _source(
        2,
        "The connect-timeout option sets the timeout for the connection attempt in seconds.",
    )
    answer = ExtractiveAnswerer().answer(
        "How can I set a timeout for the connection attempt in socat?", [retries, timeout]
    )
    assert answer.text.startswith(
        "The connect-timeout option sets the timeout for the connection attempt in seconds [1]."
    )
    assert answer.citations[0].chunk_id == 2


def test_a_sentence_cut_at_a_chunk_edge_is_never_quoted():
    source = _source(
        1,
        "returns the number of bytes written. The len argument gives the buffer size. "
        "On success len will contain",
    )
    question = "What does the len argument give, and what will len contain on success?"
    answer = ExtractiveAnswerer().answer(question, [source])
    assert "len will contain" not in answer.text
    assert "returns the number of bytes written" not in answer.text
    assert answer.text == "The len argument gives the buffer size [1]."


def test_a_sentence_cut_at_a_chunk_edge_is_quoted_whole_from_the_text_beside_it():
    text = (
        "returns the number of bytes written. The len argument gives the buffer size. "
        "On success len will contain"
    )
    source = replace(
        _source(1, text),
        before="The write call ",
        after=" the number of bytes read, and on failure -1.\n\nSee also read.",
    )
    question = "What will len contain on success?"
    answer = ExtractiveAnswerer().answer(question, [source])
    assert answer.text.startswith(
        "On success len will contain the number of bytes read, and on failure -1 [1]."
    )
    # The chunk's first sentence, read with the end of the text before it.
    first = ExtractiveAnswerer().answer("What does the write call return?", [source])
    assert first.text.startswith("The write call returns the number of bytes written [1].")


def test_text_beside_a_chunk_that_does_not_finish_the_sentence_leaves_it_out():
    source = replace(
        _source(1, "The len argument gives the buffer size. On success len will contain"),
        after=" the number of bytes read and then the next chunk goes on and on",
    )
    answer = ExtractiveAnswerer().answer("What will len contain on success?", [source])
    assert "len will contain" not in answer.text


def test_a_heading_with_a_full_stop_is_not_quoted_beside_the_real_answer():
    source = _source(
        1,
        "Unused days carry over until the end of March.\nNotice period. After the probation "
        "period of six months, the notice period is three months for both sides.",
    )
    answer = ExtractiveAnswerer().answer("How long is the notice period?", [source])
    assert answer.text == (
        "After the probation period of six months, the notice period is three months for "
        "both sides [1]."
    )


def test_a_table_row_is_quoted_as_the_answer():
    rows = "\n\n".join(
        f"version: {n} | codename: {name} | released: {date}"
        for n, name, date in [
            (9, "stretch", "2017-06-17"),
            (10, "buster", "2019-07-06"),
            (11, "bullseye", "2021-08-14"),
        ]
    )
    source = Source(
        chunk_id=1, document_id=1, document_name="debian-releases.csv", page=None, section="",
        text=rows,
    )  # fmt: skip
    answer = ExtractiveAnswerer().answer("When was Debian 10 buster released?", [source])
    assert answer.text.startswith("version: 10 | codename: buster | released: 2019-07-06 [1]")


def test_a_when_question_is_answered_by_the_sentence_with_a_date():
    policy = _source(1, "Old packages stay only for upgrades from the Debian 10 release (buster).")
    table = replace(
        _source(2, "version: 10 | codename: Buster | release: 2019-07-06 | eol: 2022-09-10"),
        document_name="debian.csv",
    )
    answer = ExtractiveAnswerer().answer("When was Debian 10 Buster released?", [policy, table])
    # The row names no "Debian": its file does, and a "when" question wants the date.
    assert answer.text.startswith("version: 10 | codename: Buster | release: 2019-07-06")
    assert answer.citations[0].document_name == "debian.csv"


def test_a_labelled_line_answers_for_what_the_line_before_it_names():
    manual = _source(
        1,
        "asn1 der coding\nint asn1_der_coding (asn1 node element, void * der) [Function]\n"
        "Returns: ASN1_SUCCESS if DER encoding OK, ASN1_VALUE_NOT_FOUND if there is an "
        "element without value.\nasn1 expand any\nint asn1_expand_any (asn1 node element)\n"
        "Returns: ASN1_SUCCESS if substitution OK.",
    )
    answer = ExtractiveAnswerer().answer(
        "What does asn1_der_coding return when an element has no value?", [manual]
    )
    assert answer.text.startswith("Returns: ASN1_SUCCESS if DER encoding OK")
