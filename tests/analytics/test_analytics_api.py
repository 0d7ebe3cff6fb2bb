"""GET /api/v1/analytics/queries/: the numbers, input checks and who may read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Role
from documents.models import DocumentStatus
from tests.accounts.helpers import bearer, key_header, owner_of, role_users
from tests.factories import (
    ApiKeyFactory,
    DocumentFactory,
    QueryFactory,
    QueryFeedbackFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/queries/"


def test_admins_get_the_numbers(make_tenant):
    handle = make_tenant("an_api")
    now = timezone.now()
    with schema_context(handle.schema):
        owner = owner_of(handle)
        for ms in (10.0, 20.0, 30.0):
            QueryFactory(
                created_at=now, text="vacation days", total_ms=ms, user=owner, cached=ms == 10.0
            )
        gap = QueryFactory(
            created_at=now, text="<b>bike lease</b>", kind="ask", result_count=0, total_ms=90.0
        )
        QueryFeedbackFactory(query=gap, helpful=False, comment="Nothing on bikes.", updated_at=now)
        QueryFactory(
            created_at=now - timedelta(days=3), text="older", api_key_prefix="di_aaaabbbbcccc"
        )
        QueryFactory(created_at=now - timedelta(days=40), text="too old")
    admin = UserFactory(tenant=handle, role=Role.ADMIN)

    response = handle.client().get(URL, **bearer(handle, admin))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["days"] == 30
    assert body["last_day"] == now.date().isoformat()
    totals = body["totals"]
    assert (totals["queries"], totals["searches"], totals["asks"]) == (5, 4, 1)
    assert totals["cache_hit_rate"] == 0.2
    assert totals["zero_result_rate"] == 0.2
    assert (totals["from_people"], totals["from_api_keys"], totals["other"]) == (3, 1, 1)
    assert totals["p50_ms"] == 20.0
    assert totals["estimated_cost_usd"] == "0.000000"
    assert len(body["per_day"]) == 30
    today = body["per_day"][-1]
    assert (today["date"], today["searches"], today["asks"]) == (now.date().isoformat(), 3, 1)
    assert (today["p50_ms"], today["p95_ms"]) == (25.0, 81.0)
    assert body["per_day"][0]["p50_ms"] is None
    kinds = {row["kind"]: row for row in body["latency_by_kind"]}
    assert kinds["ask"] == {"kind": "ask", "queries": 1, "p50_ms": 90.0, "p95_ms": 90.0}
    assert body["content_gaps"] == [
        {"text": "<b>bike lease</b>", "count": 1, "last_seen": body["content_gaps"][0]["last_seen"]}
    ]
    assert body["top_repeated"][0]["text"] == "vacation days"
    assert body["top_repeated"][0]["count"] == 3
    feedback = body["feedback"]
    assert (feedback["helpful"], feedback["not_helpful"], feedback["helpful_rate"]) == (0, 1, 0.0)
    assert feedback["latest_not_helpful"][0]["comment"] == "Nothing on bikes."
    assert feedback["latest_not_helpful"][0]["query_text"] == "<b>bike lease</b>"
    assert body["api_keys"][0]["prefix"] == "di_aaaabbbbcccc"

    week = handle.client().get(URL, {"days": 1}, **bearer(handle, owner))
    assert week.status_code == 200
    assert week.json()["totals"]["queries"] == 4
    assert len(week.json()["per_day"]) == 1
    assert handle.client().get(URL, {"days": 365}, **bearer(handle, owner)).status_code == 200
    assert handle.client().get(URL, {"days": ""}, **bearer(handle, owner)).json()["days"] == 30


@pytest.mark.parametrize(
    "days", ["0", "366", "-1", "abc", "7.5", "1e3", "\u0663", "+7", " 7", "7.0", "0x10"]
)
def test_bad_days_are_a_400_in_the_error_format(make_tenant, days):
    handle = make_tenant("an_api_bad")
    response = handle.client().get(URL, {"days": days}, **bearer(handle, owner_of(handle)))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["days"] == ["days must be a whole number from 1 to 365."]
    assert error["message"].endswith(".")


def test_members_viewers_and_api_keys_are_refused(make_tenant):
    handle = make_tenant("an_api_roles")
    users = role_users(handle)
    for role in (Role.MEMBER, Role.VIEWER):
        response = handle.client().get(URL, **bearer(handle, users[role]))
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "permission_denied"
        assert "owners and admins" in response.json()["error"]["message"]
    for scopes in (("read",), ("read", "write")):
        key = key_header(ApiKeyFactory(tenant=handle, scopes=list(scopes)).raw)
        response = handle.client().get(URL, **key)
        assert response.status_code == 403, scopes
    assert handle.client().get(URL).status_code == 401
    assert handle.client().get(URL, **bearer(handle, users[Role.ADMIN])).status_code == 200


def test_only_get_is_served(make_tenant):
    handle = make_tenant("an_api_methods")
    headers = bearer(handle, owner_of(handle))
    assert handle.client().post(URL, {}, **headers).status_code == 405


def test_popular_topics_group_wordings_and_stay_in_their_workspace(make_tenant):
    acme, globex = make_tenant("an_api_topics_a"), make_tenant("an_api_topics_b")
    now = timezone.now()
    with schema_context(acme.schema):
        for text in ("How do I reset my password?", "password reset", "resetting passwords"):
            QueryFactory(created_at=now, text=text)
        QueryFactory(created_at=now, text="reset my VPN password")
    with schema_context(globex.schema):
        for _ in range(2):
            QueryFactory(created_at=now, text="globex merger rumours")
        QueryFactory(created_at=now, text="password reset")

    body = acme.client().get(URL, **bearer(acme, owner_of(acme))).json()

    assert body["popular_topics"] == [
        {
            "label": "resetting passwords",  # one of each wording: the latest
            "terms": ["password", "reset"],
            "count": 3,
            "last_seen": body["popular_topics"][0]["last_seen"],
            "variants": ["password reset", "How do I reset my password?"],
        }
    ]
    assert body["popular_topics_from"] == 4
    other = globex.client().get(URL, **bearer(globex, owner_of(globex))).json()
    assert [(t["label"], t["count"]) for t in other["popular_topics"]] == [
        ("globex merger rumours", 2)
    ]
    assert "merger" not in str(body)


def test_document_totals_count_the_whole_workspace_whatever_the_window(make_tenant):
    handle = make_tenant("an_api_documents")
    DocumentFactory(tenant=handle, size=1500, chunks=["Holidays: 28 days.", "Parking: none."])
    DocumentFactory(tenant=handle, size=2_000_000, status=DocumentStatus.PROCESSING)
    DocumentFactory(tenant=handle, size=30, status=DocumentStatus.FAILED)
    with schema_context(handle.schema):
        # Uploaded long before the window: still stored, still counted.
        old = DocumentFactory(size=470, chunk_count=5)
        type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    DocumentFactory(tenant=make_tenant("an_api_documents_b"), size=999_999)  # another workspace

    body = handle.client().get(URL, {"days": 1}, **bearer(handle, owner_of(handle))).json()

    assert body["documents"] == {
        "count": 4,
        "chunks": 7,
        "stored_bytes": 1500 + 2_000_000 + 30 + 470,
        "by_status": {"pending": 0, "processing": 1, "ready": 2, "failed": 1},
    }
