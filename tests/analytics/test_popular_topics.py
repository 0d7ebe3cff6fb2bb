"""Popular topics: queries grouped by their key terms, however they were worded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role
from analytics.query_report import query_report
from analytics.query_stats import Window
from analytics.query_topics import TOPIC_SAMPLE, popular_topics
from queries.models import Query
from tests.accounts.helpers import signed_in
from tests.analytics.moments import at
from tests.conftest import TenantHandle
from tests.factories import QueryFactory

pytestmark = pytest.mark.django_db

WEEK = Window(last=date(2026, 11, 20), days=7)  # 14 … 20 November


@pytest.fixture
def tenant(make_tenant) -> Iterator[TenantHandle]:
    handle = make_tenant("an_topics")
    with schema_context(handle.schema):
        yield handle


def test_differently_worded_questions_form_one_topic(tenant):
    QueryFactory(created_at=at(13), text="password reset")  # the day before the window
    QueryFactory(created_at=at(15), text="password reset")
    QueryFactory(created_at=at(16), text="Password   reset", kind="ask")  # the same wording
    QueryFactory(created_at=at(17), text="How do I reset my password?", kind="ask")
    QueryFactory(created_at=at(18), text="resetting passwords", result_count=0)
    QueryFactory(created_at=at(18, 13), text="password-reset")
    QueryFactory(created_at=at(19), text="reset my VPN password")  # one more key term
    QueryFactory(created_at=at(19), text="vacation days")
    QueryFactory(created_at=at(20), text="Vacation day?")
    QueryFactory(created_at=at(20), text="parking")  # once: not a popular topic
    for _ in range(3):
        QueryFactory(created_at=at(20), text="How do I?")  # no key term at all

    topics = popular_topics(WEEK)

    assert [(topic.label, topic.count) for topic in topics] == [
        ("Password   reset", 5),  # the most frequent wording, as last typed
        ("Vacation day?", 2),
    ]
    password = topics[0]
    assert password.terms == ("password", "reset")
    # Other wordings, most frequent first, then the latest first.
    assert password.variants == (
        "password-reset",
        "resetting passwords",
        "How do I reset my password?",
    )
    assert password.last_seen == at(18, 13)
    assert topics[1].variants == ("vacation days",)
    assert topics[1].terms == ("day", "vacat")


def test_the_most_asked_topics_come_first_and_the_list_is_cut(tenant):
    for n, words in ((2, "holiday allowance"), (4, "invoice export"), (3, "expense claims")):
        for _ in range(n):
            QueryFactory(created_at=at(16), text=words)

    assert [topic.count for topic in popular_topics(WEEK)] == [4, 3, 2]
    assert [topic.label for topic in popular_topics(WEEK, limit=2)] == [
        "invoice export",
        "expense claims",
    ]


def test_topics_are_grouped_from_the_newest_queries_of_the_window_only(tenant):
    QueryFactory(created_at=at(14), text="invoice export")
    QueryFactory(created_at=at(15), text="exporting invoices")
    QueryFactory(created_at=at(16), text="holiday allowance")
    QueryFactory(created_at=at(17), text="Holiday allowance?")
    QueryFactory(created_at=at(18), text="parking")

    newest_three = popular_topics(WEEK, sample=3)
    assert [(topic.label, topic.count) for topic in newest_three] == [("Holiday allowance?", 2)]
    everything = popular_topics(WEEK)
    assert [(topic.label, topic.count) for topic in everything] == [
        ("Holiday allowance?", 2),
        ("exporting invoices", 2),
    ]


def test_a_busy_window_says_how_many_queries_its_topics_come_from(tenant):
    older = QueryFactory.build_batch(2, text="holiday allowance")
    newer = QueryFactory.build_batch(TOPIC_SAMPLE - 1, text="password reset")
    Query.objects.bulk_create(older + newer)  # stamped now
    today = Window.ending(1)
    Query.objects.filter(text="holiday allowance").update(created_at=today.start)

    report = query_report(today, include_texts=True)

    assert report.totals.queries == TOPIC_SAMPLE + 1
    assert (report.topics_from, report.topics_sampled) == (TOPIC_SAMPLE, True)
    # One "holiday allowance" of the two is among the newest 5,000: no longer a topic.
    assert [(t.label, t.count) for t in report.popular_topics] == [
        ("password reset", TOPIC_SAMPLE - 1)
    ]
    assert query_report(today, include_texts=False).popular_topics == []
    html = signed_in(tenant, Role.OWNER).get("/analytics/?days=7").content.decode()
    assert "Grouped from the newest 5,000 of the window's 5,001 queries." in html
