"""Tenant isolation, for every API route that exists — new routes are covered automatically.

The walker (tests/isolation_registry.py) lists every route under /api/v1/ of the tenant URLconf.
For each route and each HTTP method it serves:

- tenant A's access token, A's API key, a forged token, or no credentials on tenant B's
  host → 401 (no credentials is allowed only on the sign-in routes in PUBLIC_ROUTES);
- on A's host, with A's owner signed in, tenant B's object ids → 404 (B's ids are pushed past
  anything A has, so a 404 cannot come from a lucky collision);
- list routes are paginated;
- in B, a member, a member's key and an owner's key limited to the default collection get,
  for every object moved into a collection they do not read, what a missing id gets (404, or
  the same refusal when the route is not theirs at all).

Also here: every model is tenant-scoped or on a reviewed allowlist. Cache keys and Celery tasks
staying in their tenant are tested in tests/tenants/test_isolation_basics.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context
from rest_framework.mixins import ListModelMixin

from accounts.authentication import ApiKeyAuthentication, TenantJWTAuthentication
from accounts.models import Collection, Role
from documents.models import Document
from tests.accounts.helpers import bearer, fresh_rate_limits, key_header, owner_of
from tests.conftest import TenantHandle
from tests.factories import ApiKeyFactory, DocumentFactory, UserFactory
from tests.isolation_registry import (
    FACTORIES,
    PUBLIC_ROUTES,
    ApiRoute,
    api_routes,
    is_drf_view,
    load_factories,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]
__all__ = ["fresh_rate_limits"]

# Models whose table lives only in the public schema, reviewed: nothing tenant-owned here.
SHARED_MODEL_ALLOWLIST = {
    "tenants.Tenant": "the tenant registry itself",
    "tenants.Domain": "host names routing to tenants",
    "admin.LogEntry": "operators' admin audit log (public host only)",
    "tenants.OperatorAction": "operators' audit trail of actions on tenants (public host only)",
    "operators.BackupRecord": "operators' list of backups and how they ended (public host only)",
    "operators.UsageDay": "operators' daily usage rows per tenant for billing (public host only)",
}

load_factories()


def _request(handle: TenantHandle, route: ApiRoute, method: str, url: str, **headers: str):
    call = getattr(handle.client(), method)
    if method in {"post", "put", "patch"}:
        return call(url, {}, content_type="application/json", **headers)
    return call(url, **headers)


def _push_sequences_past_tenant_a(schema: str) -> None:
    """Make every id created from now on in `schema` larger than anything the other tenant has."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT format('%%I.%%I', n.nspname, c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = %s",
            [schema],
        )
        for (sequence,) in cursor.fetchall():
            cursor.execute("SELECT setval(%s::regclass, 500000000)", [sequence])


def _objects_of(handle: TenantHandle, routes: list[ApiRoute]) -> dict[str, dict[str, Any]]:
    """URL kwargs per route name, built by the registered factories inside `handle`'s schema."""
    _push_sequences_past_tenant_a(handle.schema)
    owner = owner_of(handle)
    made: dict[Callable[..., Any], dict[str, Any]] = {}
    kwargs: dict[str, dict[str, Any]] = {}
    with schema_context(handle.schema):
        for route in routes:
            factory = FACTORIES.get(route.name or "")
            if factory is not None and route.params:
                if factory not in made:
                    made[factory] = factory(owner)
                kwargs[route.label] = made[factory]
    return kwargs


@pytest.fixture
def two_tenants(make_tenant) -> tuple[TenantHandle, TenantHandle]:
    return make_tenant("iso_a"), make_tenant("iso_b")


def test_the_walker_finds_the_api_and_every_route_is_a_drf_view_with_our_auth():
    routes = api_routes()
    names = {route.name for route in routes}
    assert {"api-token", "api-me", "api-members", "api-member", "api-keys"} <= names
    for route in routes:
        assert is_drf_view(route), f"{route.template} is not a DRF view; it would skip API auth"
        authenticators = set(route.view_class.authentication_classes)  # type: ignore[union-attr]
        assert {TenantJWTAuthentication, ApiKeyAuthentication} <= authenticators, route.template
        assert route.methods, route.template


def test_foreign_forged_and_missing_credentials_are_401_on_every_route(two_tenants):
    alpha, beta = two_tenants
    routes = api_routes()
    kwargs = _objects_of(beta, routes)
    a_access = bearer(alpha, owner_of(alpha))
    claims = jwt.decode(
        a_access["HTTP_AUTHORIZATION"].split()[1], options={"verify_signature": False}
    )
    forged = jwt.encode({**claims, "tenant": beta.schema}, "attacker-key-" * 4, algorithm="HS256")
    credentials = {
        "A's access token": a_access,
        "A's API key": key_header(ApiKeyFactory(tenant=alpha, scopes=["read", "write"]).raw),
        "A's API key (X-API-Key)": {
            "HTTP_X_API_KEY": ApiKeyFactory(tenant=alpha, scopes=["read", "write"]).raw
        },
        "forged token": {"HTTP_AUTHORIZATION": f"Bearer {forged}"},
        "no credentials": {},
    }
    failures = []
    for route in routes:
        url = route.url(kwargs.get(route.label))
        for method in route.methods:
            for label, headers in credentials.items():
                if label == "no credentials" and route.name in PUBLIC_ROUTES:
                    continue
                response = _request(beta, route, method, url, **headers)
                if response.status_code != 401 or "error" not in response.json():
                    failures.append(f"{method.upper()} {url} with {label}: {response.status_code}")
    assert not failures, "\n".join(failures)


def test_other_tenants_object_ids_are_404_on_every_route(two_tenants, capsys):
    alpha, beta = two_tenants
    routes = [route for route in api_routes() if route.params]
    kwargs = _objects_of(beta, routes)
    headers = bearer(alpha, owner_of(alpha))
    failures = []
    for route in routes:
        url = route.url(kwargs.get(route.label))
        for method in route.methods:
            response = _request(alpha, route, method, url, **headers)
            if response.status_code != 404 or response.json()["error"]["code"] != "not_found":
                failures.append(f"{method.upper()} {url}: {response.status_code}")
    generic = sorted(route.label for route in routes if route.label not in kwargs)
    if generic:
        with capsys.disabled():
            print(f"\n[isolation] no object factory, generic ids used for: {', '.join(generic)}")
    assert not failures, "\n".join(failures)


def _restrict_every_document(handle: TenantHandle) -> None:
    """Move every document of `handle` out of the default collection into one nobody joins."""
    with schema_context(handle.schema):
        restricted = Collection.objects.create(name="restricted")
        for document in Document.objects.all():
            document.collections.set([restricted])


def test_a_member_cannot_tell_objects_of_collections_they_cannot_read_from_missing_ones(
    two_tenants,
):
    """Every route with an id, tried in B by people and keys of B who do not read the
    collection holding the object: the answer is the one a missing id gets (404, or the same
    refusal when the route is not theirs at all), never the object."""
    _alpha, beta = two_tenants
    routes = [route for route in api_routes() if route.params]
    kwargs = _objects_of(beta, routes)
    _restrict_every_document(beta)
    member = UserFactory(tenant=beta, role=Role.MEMBER)
    with schema_context(beta.schema):
        default_id = Collection.objects.get(is_default=True).pk
    credentials = {
        "a member": bearer(beta, member),
        "a member's key": key_header(
            ApiKeyFactory(tenant=beta, scopes=["read", "write"], created_by=member).raw
        ),
        "an owner's key for the default collection": key_header(
            ApiKeyFactory(tenant=beta, scopes=["read", "write"], collection_ids=[default_id]).raw
        ),
    }
    failures = []
    for route in routes:
        if route.label not in kwargs:
            continue
        real, missing = route.url(kwargs[route.label]), route.url()
        for method in route.methods:
            for label, headers in credentials.items():
                got = _request(beta, route, method, real, **headers)
                expected = _request(beta, route, method, missing, **headers)
                if got.status_code != expected.status_code or got.status_code < 400:
                    failures.append(
                        f"{method.upper()} {real} by {label}: {got.status_code} "
                        f"(a missing id: {expected.status_code})"
                    )
                elif "tenant-b" in got.content.decode() or "tenant B" in got.content.decode():
                    failures.append(f"{method.upper()} {real} by {label}: names the object")
    assert not failures, "\n".join(failures)


def test_every_list_route_is_paginated(two_tenants):
    alpha, _beta = two_tenants
    headers = bearer(alpha, owner_of(alpha))
    failures = []
    for route in api_routes():
        view = route.view_class
        if route.params or view is None or not issubclass(view, ListModelMixin):
            continue
        response = alpha.client().get(route.url(), **headers)
        body = response.json()
        if getattr(view, "pagination_class", None) is None or not {"count", "results"} <= set(
            body if isinstance(body, dict) else ()
        ):
            failures.append(f"GET {route.template}: not paginated ({response.status_code})")
    assert not failures, "\n".join(failures)


def test_every_model_is_tenant_scoped_or_a_reviewed_shared_model():
    tenant_apps = {app.split(".")[-1] if "." in app else app for app in settings.TENANT_APPS}
    tenant_labels = {
        config.label for config in apps.get_app_configs() if config.name in settings.TENANT_APPS
    }
    unreviewed = [
        model._meta.label
        for model in apps.get_models(include_auto_created=True)
        if model._meta.app_label not in tenant_labels
        and model._meta.label not in SHARED_MODEL_ALLOWLIST
    ]
    assert tenant_apps, "TENANT_APPS is empty"
    assert not unreviewed, (
        f"These models live only in the public schema: {unreviewed}. Put their app in "
        "TENANT_APPS, or review them and add them to SHARED_MODEL_ALLOWLIST with a reason."
    )


PROBE = "zorblax quintessence code"
SECRET = "vermilionxq7731"  # only ever in tenant B's document, never typed by tenant A


def test_a_canary_in_tenant_b_never_reaches_tenant_a(make_tenant):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from documents.pipeline import process_documents

    alpha, beta = make_tenant("canary_a"), make_tenant("canary_b")
    documents = [
        (alpha, "Ordinary notes about the zorblax wing."),
        (beta, f"The zorblax quintessence is kept under code {SECRET}."),
    ]
    for handle, text in documents:
        response = handle.logged_in_client().post(
            "/api/v1/documents/", {"file": SimpleUploadedFile("notes.txt", text.encode())}
        )
        assert response.status_code == 202, response.content
        with schema_context(handle.schema):
            assert process_documents([response.json()["id"]])[0].outcome == "ready"

    def everything_seen_by(handle: TenantHandle) -> str:
        client = handle.logged_in_client()
        post = lambda url, body: client.post(url, body, content_type="application/json")  # noqa: E731
        seen = []
        for mode in ("lexical", "dense", "hybrid"):
            for _ in range(2):  # the second response comes from the cache
                seen.append(post("/api/v1/search/", {"query": PROBE, "mode": mode}).content)
        for _ in range(2):
            seen.append(post("/api/v1/ask/", {"question": f"What is the {PROBE}?"}).content)
        seen.append(post("/api/v1/ask/", {"question": PROBE, "stream": True}).getvalue())
        seen.append(client.get("/api/v1/queries/").content)
        seen.append(client.get("/api/v1/documents/").content)
        seen.append(client.get("/analytics/").content)
        seen.append(client.get("/api/v1/analytics/queries/").content)
        seen.append(client.get("/documents/").content)
        return b"\n".join(seen).decode()

    # B finds its own secret (so the probe is meaningful) and has it cached now ...
    assert SECRET in everything_seen_by(beta)
    # ... and types it twice, so its analytics list the query text among the repeated ones ...
    b_client = beta.logged_in_client()
    for _ in range(2):
        b_client.post(
            "/api/v1/search/", {"query": f"code {SECRET}"}, content_type="application/json"
        )
    assert SECRET in b_client.get("/api/v1/analytics/queries/").content.decode()
    assert SECRET in b_client.get("/analytics/").content.decode()
    # ... while A, asking the same things on its own host, never sees it.
    assert SECRET not in everything_seen_by(alpha)


def test_rate_limit_counters_are_per_tenant(two_tenants):
    from django_redis import get_redis_connection
    from django_tenants.utils import tenant_context

    from accounts.ratecounters import Counter, count

    alpha, beta = two_tenants
    same = Counter("api", "key:1", "5/m")  # the same caller key exists in every tenant
    with tenant_context(alpha.tenant):
        assert [(count([same]) or [])[0].count for _ in range(3)] == [1, 2, 3]
    with tenant_context(beta.tenant):
        assert (count([same]) or [])[0].count == 1
    keys = [k.decode() for k in get_redis_connection("default").scan_iter(match="*:rl:api:*")]
    assert {key.split(":", 1)[0] for key in keys} >= {alpha.schema, beta.schema}


def test_stored_search_tables_stay_in_their_tenants_directory(make_tenant):
    """Compaction stores the BM25 matrix and query IDF table under INDEX_ROOT/<schema>/."""
    from documents.embedder_choice import embedder_for_current_tenant
    from documents.embeddings.hashing import HashingEmbedder
    from search import bm25, bm25_cache, bm25_store, index, query_idf

    alpha, beta = make_tenant("stored_a"), make_tenant("stored_b")
    texts = {alpha.schema: "Ordinary notes about the wing.", beta.schema: f"The code is {SECRET}."}
    states = {}
    for handle in (alpha, beta):
        with schema_context(handle.schema):
            # the same chunk id in both
            DocumentFactory(filename="notes.txt", chunks=[texts[handle.schema]])
            index.compact()
            states[handle.schema] = index.state()
    for handle, other in ((alpha, beta), (beta, alpha)):
        with schema_context(handle.schema):
            row, theirs = states[handle.schema], states[other.schema]
            key = f"{handle.schema}:{row.generation}"
            stored = [p.name for p in index.index_directory(handle.schema).iterdir()]
            assert [name for name in stored if "bm25" in name] == [
                f"bm25-{row.generation}-{row.change_seq}"
            ]
            # The other tenant's state names no file here ...
            assert not bm25_store.exists(handle.schema, str(theirs.generation), theirs.change_seq)
            # ... and what is here holds only this tenant's words.
            matrix = bm25_cache.Bm25Cache().get(key, row.change_seq)
            assert bool(matrix.search(bm25.query_lexemes(SECRET), 5)) == (handle is beta)
            embedder = embedder_for_current_tenant()
            assert isinstance(embedder, HashingEmbedder)
            weights = query_idf.TermWeightCache().get(
                key, row.change_seq, embedder, chunk_count=10**6
            )
            assert weights is not None  # read from this tenant's directory, not counted
            secret_features, _ = embedder.feature_document_frequencies([SECRET])
            assert bool(weights.weights(secret_features).any()) == (handle is beta)


def test_chunks_newer_than_a_stale_matrix_stay_in_their_tenant(make_tenant, monkeypatch):
    """While a big tenant's BM25 matrix is stale, the chunks it lacks are read per schema."""
    from search import bm25_cache, index
    from search.retrieval import lexical_search

    cache = bm25_cache.Bm25Cache(sync_limit=0)  # every tenant counts as big
    monkeypatch.setattr(cache, "spawn", lambda _target, _name: None)  # never rebuilt here
    monkeypatch.setattr(bm25_cache, "indexes", cache)
    monkeypatch.setattr(settings, "SEARCH_LEXICAL_STORE", False)
    alpha, beta = make_tenant("fresh_a"), make_tenant("fresh_b")
    for handle in (alpha, beta):  # both matrices built before the new chunks
        with schema_context(handle.schema):
            DocumentFactory(filename="notes.txt", chunks=["Ordinary notes about the wing."])
            assert lexical_search("wing", 5)
    with schema_context(beta.schema):
        # newer: chunk 2
        DocumentFactory(filename="secret.txt", chunks=[f"The code is {SECRET}, near the wing."])
        assert [chunk for chunk, _ in lexical_search(SECRET, 5)] == [2]
    with schema_context(alpha.schema):
        # chunk 2 here too
        DocumentFactory(filename="plain.txt", chunks=["Plain words about the wing."])
        row = index.state()
        key = f"{alpha.schema}:{row.generation}"
        fresh = cache.fresh(key, cache.get(key, row.change_seq), row.change_seq)
        assert fresh is not None
        assert fresh.chunk_ids.tolist() == [2]
        assert SECRET not in fresh.new_terms
        assert lexical_search(SECRET, 5) == []
