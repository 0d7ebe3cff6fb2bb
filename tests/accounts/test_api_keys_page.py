"""The dashboard's API-keys page: POST/redirect/GET, the new key shown once, never in a URL."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from accounts.models import ApiKey
from accounts.workspace_views import NEW_KEY_SESSION

pytestmark = pytest.mark.django_db

PAGE = "/settings/api-keys/"


def test_creating_a_key_redirects_so_a_reload_does_not_create_another(make_tenant):
    acme = make_tenant("keypage_a")
    client = acme.logged_in_client()
    created = client.post(PAGE, {"name": "nightly sync", "scopes": ["read", "write"]})
    assert created.status_code == 302
    assert created["Location"] == PAGE  # the key is not in the URL
    assert created["Cache-Control"] == "no-store"
    with schema_context(acme.schema):
        key = ApiKey.objects.get()
    assert key.scopes == ["read", "write"]
    assert f"di_{key.prefix}_" not in created.content.decode()

    shown = client.get(created["Location"])
    html = shown.content.decode()
    assert shown.status_code == 200
    assert shown["Cache-Control"] == "no-store"
    assert html.count(f"di_{key.prefix}_") == 1  # the full key, once
    assert 'id="new-key-value"' in html
    assert NEW_KEY_SESSION not in client.session  # gone from the session once shown

    # Reloading (the browser repeats the GET it was redirected to) shows no key and
    # creates nothing.
    reloaded = client.get(PAGE).content.decode()
    assert f"di_{key.prefix}_" not in reloaded
    assert 'id="new-key-value"' not in reloaded
    with schema_context(acme.schema):
        assert ApiKey.objects.count() == 1


def test_an_invalid_form_is_shown_again_without_creating_a_key(make_tenant):
    acme = make_tenant("keypage_b")
    client = acme.logged_in_client()
    response = client.post(PAGE, {"name": "no scopes"})
    assert response.status_code == 200
    assert "Choose at least one scope." in response.content.decode()
    assert 'id="new-key-value"' not in response.content.decode()
    with schema_context(acme.schema):
        assert not ApiKey.objects.exists()


def test_the_new_key_is_shown_only_to_the_session_that_created_it(make_tenant):
    acme = make_tenant("keypage_c")
    creator = acme.logged_in_client()
    other_tab = acme.logged_in_client()  # the same person, another session
    creator.post(PAGE, {"name": "ci", "scopes": ["read"]})
    with schema_context(acme.schema):
        key = ApiKey.objects.get()
    assert f"di_{key.prefix}_" not in other_tab.get(PAGE).content.decode()
    assert f"di_{key.prefix}_" in creator.get(PAGE).content.decode()
