"""Citations checked against their sources: each cited sentence is supported, partly
supported or unsupported by the passage it cites; generated answers lose markers their
passages do not bear out and fall back to quoting when too little is supported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from queries.answerers.base import Source
from queries.answerers.extractive import ExtractiveAnswerer
from queries.answerers.support import (
    PARTIAL,
    SUPPORTED,
    UNSUPPORTED,
    claims,
    level,
    supported_share,
    verify,
)
from tests.accounts.helpers import fresh_rate_limits
from tests.factories import DocumentFactory
from tests.queries.test_openai_answerer import PATH, USAGE, _answerer, _completion, _drain, _sse

PASSAGE = "The notice period is three months for both sides after a probation of 6 months."
LEAVE = Source(1, 10, "handbook.pdf", 4, "Leave", "Employees receive 25 days of paid leave.")
NOTICE = Source(2, 20, "contract.pdf", 2, "Notice", PASSAGE)


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        ("The notice period is three months for both sides.", SUPPORTED),
        ("After a probation of 6 months, notice is three months.", SUPPORTED),
        ("After a probation of 9 months, notice is three months.", PARTIAL),  # a changed number
        ("The notice period is three months, paid in full by the employer.", PARTIAL),
        ("Employees may work from home on Fridays.", UNSUPPORTED),
        ("See the contract.", UNSUPPORTED),
    ],
)
def test_a_sentence_is_judged_by_its_words_and_numbers_in_the_passage(claim, expected):
    assert level(claim, PASSAGE) == expected


def test_each_cited_sentence_is_found_in_the_answer_with_its_support():
    text = (
        "Employees receive 25 days of paid leave [1]. Notice is three months [2]. "
        "Pets are welcome in the office [1]."
    )
    found = claims(text, [LEAVE, NOTICE])
    assert [text[c.start : c.end] for c in found] == [
        "Employees receive 25 days of paid leave [1].",
        "Notice is three months [2].",
        "Pets are welcome in the office [1].",
    ]
    assert [c.support for c in found] == [SUPPORTED, SUPPORTED, UNSUPPORTED]
    assert supported_share(found) == pytest.approx(0.667, abs=0.001)


def test_a_sentence_finished_across_the_chunk_edge_is_supported():
    cut = replace(NOTICE, text="The notice period is", after=" three months for both sides.")
    assert claims("The notice period is three months for both sides [1].", [cut])[0].support == (
        SUPPORTED
    )


def test_a_generated_answer_loses_markers_its_passages_do_not_bear_out(httpserver: HTTPServer):
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        _completion(
            "Employees receive 25 days of paid leave [1][2]. The notice period is three "
            "months for both sides [2]."
        )
    )
    answer = _answerer(httpserver).answer("Leave and notice?", [LEAVE, NOTICE])
    assert answer.text == (
        "Employees receive 25 days of paid leave [1]. The notice period is three months for "
        "both sides [2]."
    )
    assert [(c.marker, c.support) for c in answer.citations] == [(1, SUPPORTED), (2, SUPPORTED)]
    assert answer.degraded is False


def test_an_answer_mostly_unsupported_is_replaced_by_quotes(httpserver: HTTPServer):
    invented = "Staff get a company car [1]. Bonuses are paid in June [2]. Leave is paid [1]."
    httpserver.expect_request(PATH, method="POST").respond_with_json(
        _completion(invented, usage=USAGE)
    )
    answer = _answerer(httpserver).answer("How many days of paid leave?", [LEAVE, NOTICE])
    assert answer.degraded is True
    assert answer.backend == "extractive"
    assert answer.text.startswith("Employees receive 25 days of paid leave [1].")
    assert answer.usage == USAGE  # the provider's tokens were spent all the same


def test_a_streamed_answer_ends_with_the_checked_text(httpserver: HTTPServer):
    pieces = ["Employees receive 25 days", " of paid leave [1][2]."]
    httpserver.expect_request(PATH, method="POST").respond_with_data(
        _sse(pieces), content_type="text/event-stream"
    )
    deltas, final = _drain(_answerer(httpserver).stream("Leave?", [LEAVE, NOTICE]))
    assert "".join(deltas) == "Employees receive 25 days of paid leave [1][2]."
    assert final.text == "Employees receive 25 days of paid leave [1]."  # authoritative


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_rate_limits")
def test_the_ask_api_reports_each_citations_support_and_the_supported_share(
    make_tenant: Any,
) -> None:
    handle = make_tenant("citesupport")
    DocumentFactory(tenant=handle, chunks=[PASSAGE])
    response = handle.logged_in_client().post(
        "/api/v1/ask/", {"question": "How long is the notice period?"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert [c["support"] for c in body["citations"]] == [SUPPORTED]
    assert body["support"]["supported_share"] == 1.0
    claim = body["support"]["claims"][0]
    assert body["answer"][claim["start"] : claim["end"]].endswith("[1].")
    assert claim["markers"] == [1]


__all__ = ["fresh_rate_limits"]


def test_markers_numbered_by_first_use_are_checked_against_the_source_they_name():
    """The extractive answer numbers its markers in the order it quotes sources, so [1] may
    be the second search result: the check follows the citation, not the rank."""
    retries = Source(7, 70, "socat.html", None, "", "The retry option sets how many times "
                     "socat tries to connect again.")  # fmt: skip
    timeout = Source(9, 90, "socat.html", None, "", "The connect-timeout option sets the "
                     "timeout for the connection attempt in seconds.")  # fmt: skip
    sources = [retries, timeout]
    answer = ExtractiveAnswerer().answer(
        "How can I set a timeout for the connection attempt in socat?", sources
    )
    assert answer.citations[0].chunk_id == 9  # [1] is the second search result
    checked = verify(answer, sources)
    assert [c.support for c in checked.citations] == [SUPPORTED] * len(checked.citations)
    assert supported_share(checked.claims) == 1.0
