"""The analytics API and page count days in the workspace's time zone; the API takes `?tz=`."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator

from analytics.templatetags.analytics_format import MISSING, short_date, short_datetime
from tenants.services import set_time_zone
from tests.accounts.helpers import bearer, owner_of
from tests.conftest import TenantHandle
from tests.factories import QueryFactory, QueryFeedbackFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/queries/"
TOKYO = ZoneInfo("Asia/Tokyo")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def _tokyo_workspace(make_tenant, schema: str) -> tuple[TenantHandle, datetime]:
    """A workspace in Tokyo with a gap asked a minute after midnight there (yesterday in UTC)."""
    handle = make_tenant(schema)
    set_time_zone(tenant=handle.tenant, time_zone="Asia/Tokyo")
    today = datetime.now(TOKYO).date()
    moment = datetime.combine(today, datetime.min.time(), tzinfo=TOKYO) + timedelta(minutes=1)
    with schema_context(handle.schema):
        gap = QueryFactory(created_at=moment.astimezone(UTC), text="bike lease", result_count=0)
        QueryFeedbackFactory(
            query=gap, helpful=False, comment="Nothing on bikes.", updated_at=moment
        )
    return handle, moment


def _get(handle: TenantHandle, **params: str) -> Any:
    headers: dict[str, Any] = bearer(handle, owner_of(handle))
    return handle.client().get(URL, params, **headers)


def test_the_api_counts_days_in_the_workspaces_zone_and_says_which(make_tenant):
    handle, moment = _tokyo_workspace(make_tenant, "an_zone_api")

    body = _get(handle).json()

    assert body["time_zone"] == "Asia/Tokyo"
    assert body["last_day"] == moment.date().isoformat()
    assert body["per_day"][-1]["date"] == moment.date().isoformat()
    assert body["per_day"][-1]["searches"] == 1
    assert body["totals"]["queries"] == 1
    [gap] = body["content_gaps"]
    assert gap["last_seen"] == moment.isoformat()  # 00:01+09:00, not 15:01Z the day before
    assert body["feedback"]["latest_not_helpful"][0]["updated_at"] == moment.isoformat()


def test_tz_overrides_the_workspaces_zone_for_one_request(make_tenant):
    handle, moment = _tokyo_workspace(make_tenant, "an_zone_tz")
    in_los_angeles = moment.astimezone(LOS_ANGELES)

    body = _get(handle, tz="America/Los_Angeles", days="3").json()

    assert body["time_zone"] == "America/Los_Angeles"
    assert body["last_day"] == datetime.now(LOS_ANGELES).date().isoformat()
    counted = {day["date"]: day["searches"] for day in body["per_day"]}
    assert counted[in_los_angeles.date().isoformat()] == 1  # the day before, in California
    assert body["content_gaps"][0]["last_seen"] == in_los_angeles.isoformat()
    assert _get(handle, tz="europe/berlin").json()["time_zone"] == "Europe/Berlin"
    assert _get(handle, tz="").json()["time_zone"] == "Asia/Tokyo"
    assert handle.tenant.time_zone == "Asia/Tokyo"  # an override is not a setting


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "Berlin", "+09:00", "localtime", "../etc"])
def test_an_unknown_tz_is_a_400_naming_it(make_tenant, bad):
    handle = make_tenant("an_zone_bad")
    response = _get(handle, tz=bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"]["tz"] == [
        f"tz must be an IANA time zone name such as Europe/Berlin; '{bad}' is not one."
    ]
    assert error["message"].endswith(".")
    too_long = _get(handle, tz="A" * 65).json()["error"]
    assert too_long["fields"]["tz"] == ["tz must be an IANA time zone name such as Europe/Berlin."]


def test_the_schema_documents_tz_and_time_zone():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["get"]
    [tz] = [p for p in operation["parameters"] if p["name"] == "tz"]
    assert tz["in"] == "query"
    assert not tz.get("required", False)
    assert "IANA" in tz["description"]
    output = schema["components"]["schemas"]["QueryAnalyticsOutput"]
    assert "time_zone" in output["required"]
    assert output["properties"]["time_zone"]["type"] == "string"


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html)
    assert found, "the chart data is missing"
    return json.loads(found.group(1))


def test_the_page_counts_days_in_the_workspaces_zone_and_says_so(make_tenant):
    handle, moment = _tokyo_workspace(make_tenant, "an_zone_page")

    html = handle.logged_in_client().get("/analytics/?days=7").content.decode()

    assert "Days are Asia/Tokyo calendar days" in html
    assert "Change the workspace's time zone</a>" in html
    queries = _chart_data(html)["queries"]
    assert queries["labels"][-1] == moment.date().isoformat()
    assert queries["searches"][-1] == 1
    uploads = _chart_data(html)["uploads"]
    assert uploads["labels"][-1] == moment.date().isoformat()
    # Times in the lists are Tokyo times, with their offset for machines.
    assert f'<time datetime="{moment.isoformat()}">' in html
    day = moment.strftime("%b") + "\u00a0" + str(moment.day)
    assert f">{day}</time>" in html
    assert f"{day}, 00:01 JST</time>" in html  # the comment's time, with the zone's name


def test_a_utc_workspace_keeps_utc_days(make_tenant):
    handle = make_tenant("an_zone_utc")
    assert handle.tenant.time_zone == "UTC"
    html = handle.logged_in_client().get("/analytics/").content.decode()
    assert "Days are UTC calendar days" in html
    assert _chart_data(html)["queries"]["labels"][-1] == datetime.now(UTC).date().isoformat()
    assert _get(handle).json()["time_zone"] == "UTC"


def test_dates_show_the_year_when_it_is_not_the_current_year_there(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 6, 15, 12, tzinfo=UTC))
    new_years_eve = datetime(2025, 12, 31, 23, 30, tzinfo=UTC)
    with timezone.override(UTC):
        assert short_date(datetime(2026, 11, 3, 9, tzinfo=UTC)) == "Nov\u00a03"
        assert short_date(new_years_eve) == "Dec\u00a031,\u00a02025"
        assert short_date(date(2025, 11, 3)) == "Nov\u00a03,\u00a02025"
        assert short_datetime(new_years_eve) == "Dec\u00a031,\u00a02025, 23:30 UTC"
        assert short_date(None) == MISSING
    with timezone.override(TOKYO):  # already 1 January 2026 there: this year, no year shown
        assert short_date(new_years_eve) == "Jan\u00a01"
        assert short_datetime(new_years_eve) == "Jan\u00a01, 08:30 JST"
