"""The workspace's time zone on the Members page: owners and admins set it, others cannot."""

from __future__ import annotations

import pytest

from accounts.models import Role
from tenants.models import Tenant
from tests.accounts.helpers import signed_in
from tests.conftest import TenantHandle

pytestmark = pytest.mark.django_db

FORM = "/settings/workspace/time-zone/"
MEMBERS = "/settings/members/"


def _stored(handle: TenantHandle) -> str:
    return Tenant.objects.get(pk=handle.tenant.pk).time_zone


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_set_the_zone_and_analytics_follow(make_tenant, role):
    handle = make_tenant("ws_zone")
    client = signed_in(handle, role)
    page = client.get(MEMBERS).content.decode()
    assert 'id="workspace-settings"' in page
    assert 'name="time_zone" id="id_time_zone" list="time-zone-names"' in page
    assert 'value="UTC"' in page
    assert '<option value="Asia/Tokyo"></option>' in page
    assert '<option value="localtime">' not in page

    response = client.post(FORM, {"time_zone": "  asia/tokyo "}, follow=True)

    assert response.redirect_chain == [(MEMBERS, 302)]
    assert _stored(handle) == "Asia/Tokyo"  # as the tz database spells it
    html = response.content.decode()
    assert "The workspace&#x27;s time zone is now Asia/Tokyo; analytics count days there." in html
    assert 'value="Asia/Tokyo"' in html
    analytics = client.get("/analytics/").content.decode()
    assert "Days are Asia/Tokyo calendar days" in analytics


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        ("Mars/Olympus_Mons", "&#x27;Mars/Olympus_Mons&#x27; is not a time zone we know; use an "
         "IANA name such as &#x27;Europe/Berlin&#x27;, &#x27;America/Los_Angeles&#x27; or "
         "&#x27;UTC&#x27;."),
        ("Berlin", "&#x27;Berlin&#x27; is not a time zone we know"),
        ("", "Choose a time zone, e.g. Europe/Berlin or UTC."),
        ("x" * 65, "No time zone has a name that long; use one such as Europe/Berlin."),
    ],
)  # fmt: skip
def test_an_unknown_zone_is_refused_with_a_sentence(make_tenant, typed, sentence):
    handle = make_tenant("ws_zone_bad")
    response = signed_in(handle, Role.OWNER).post(FORM, {"time_zone": typed})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="upload-error small" id="time-zone-error">{sentence}' in html
    assert 'aria-invalid="true"' in html
    assert _stored(handle) == "UTC"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
def test_members_and_viewers_cannot_change_it(make_tenant, role):
    handle = make_tenant("ws_zone_member")
    response = signed_in(handle, role).post(FORM, {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 403
    assert "Only the workspace&#x27;s owners and admins can open this page." in (
        response.content.decode()
    )
    assert _stored(handle) == "UTC"


def test_signed_out_visitors_are_sent_to_sign_in_and_get_is_refused(make_tenant):
    handle = make_tenant("ws_zone_anon")
    response = handle.client().post(FORM, {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert _stored(handle) == "UTC"
    assert signed_in(handle, Role.OWNER).get(FORM).status_code == 405


def test_one_workspaces_zone_leaves_anothers_alone(make_tenant):
    berlin = make_tenant("ws_zone_a")
    other = make_tenant("ws_zone_b")
    assert signed_in(berlin, Role.OWNER).post(FORM, {"time_zone": "Europe/Berlin"}).status_code
    assert (_stored(berlin), _stored(other)) == ("Europe/Berlin", "UTC")
