"""Days are calendar days in the workspace's time zone: boundaries, grouping, DST, uploads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from analytics import query_lists, query_summary, selectors
from analytics.query_stats import Window
from tests.analytics.moments import at
from tests.conftest import TenantHandle
from tests.factories import DocumentFactory, QueryFactory

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.fixture
def tenant(make_tenant) -> Iterator[TenantHandle]:
    handle = make_tenant("an_zones")
    with schema_context(handle.schema):
        yield handle


def _counts(window: Window) -> dict[date, int]:
    return {day.day: day.searches + day.asks for day in query_summary.per_day(window)}


def test_a_window_runs_from_local_midnight_to_local_midnight():
    week = Window(last=date(2026, 11, 20), days=7, zone=TOKYO)
    assert week.time_zone == "Asia/Tokyo"
    assert week.start == datetime(2026, 11, 13, 15, tzinfo=UTC)  # 14 Nov 00:00 in Tokyo
    assert week.end == datetime(2026, 11, 20, 15, tzinfo=UTC)
    assert week.dates() == Window(last=date(2026, 11, 20), days=7).dates()
    west = Window(last=date(2026, 11, 20), days=1, zone=LOS_ANGELES)
    assert (west.start, west.end) == (at(20, 8), at(21, 8))


def test_today_is_todays_date_in_the_zone():
    now = datetime.now(UTC)
    for zone in (ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago"), TOKYO):
        assert Window.ending(7, zone=zone).last in {
            now.astimezone(zone).date(),
            datetime.now(UTC).astimezone(zone).date(),  # midnight passed meanwhile
        }


def test_a_query_at_23_30_utc_counts_on_the_next_day_in_tokyo(tenant):
    QueryFactory(created_at=at(14, 23, 30))  # 15 Nov 08:30 in Tokyo
    QueryFactory(created_at=at(15, 14, 59))  # 15 Nov 23:59 in Tokyo
    QueryFactory(created_at=at(15, 15, 0))  # 16 Nov 00:00 in Tokyo: the day after the window

    in_tokyo = _counts(Window(last=date(2026, 11, 15), days=2, zone=TOKYO))
    assert in_tokyo == {date(2026, 11, 14): 0, date(2026, 11, 15): 2}
    assert query_summary.totals(Window(last=date(2026, 11, 15), days=2, zone=TOKYO)).queries == 2

    in_utc = _counts(Window(last=date(2026, 11, 15), days=2))
    assert in_utc == {date(2026, 11, 14): 1, date(2026, 11, 15): 2}


def test_an_evening_query_in_los_angeles_stays_on_its_local_day(tenant):
    QueryFactory(created_at=at(15, 3, 0))  # 14 Nov 19:00 in Los Angeles
    days = _counts(Window(last=date(2026, 11, 15), days=2, zone=LOS_ANGELES))
    assert days == {date(2026, 11, 14): 1, date(2026, 11, 15): 0}


@pytest.mark.parametrize(
    ("zone", "local_day"),
    [("Etc/GMT-10", date(2026, 11, 15)), ("Etc/GMT+10", date(2026, 11, 14))],
)
def test_posix_style_zone_names_keep_their_sign(tenant, zone, local_day):
    # Etc/GMT-10 is UTC+10 and Etc/GMT+10 is UTC-10: POSIX signs, which PostgreSQL also
    # uses for a bare "+10"; the day must still be the zone's.
    QueryFactory(created_at=at(14, 23, 30))
    days = _counts(Window(last=date(2026, 11, 15), days=2, zone=ZoneInfo(zone)))
    assert days[local_day] == 1
    assert sum(days.values()) == 1


def test_the_25_hour_day_at_the_end_of_summer_time_is_one_day(tenant):
    # Berlin leaves summer time on Sunday 25 October 2026: 03:00 CEST becomes 02:00 CET.
    window = Window(last=date(2026, 10, 26), days=3, zone=BERLIN)  # 24, 25, 26 October
    assert window.end - window.start == timedelta(hours=3 * 24 + 1)
    QueryFactory(created_at=datetime(2026, 10, 24, 22, 0, tzinfo=UTC))  # 25 Oct 00:00 CEST
    QueryFactory(created_at=datetime(2026, 10, 25, 0, 30, tzinfo=UTC))  # 02:30 CEST, the first time
    QueryFactory(created_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 CET, the second time
    QueryFactory(created_at=datetime(2026, 10, 25, 22, 59, tzinfo=UTC))  # 25 Oct 23:59 CET
    QueryFactory(created_at=datetime(2026, 10, 25, 23, 0, tzinfo=UTC))  # 26 Oct 00:00 CET

    days = query_summary.per_day(window)

    assert [day.day for day in days] == [date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)]
    assert [day.searches for day in days] == [0, 4, 1]


def test_the_23_hour_day_at_the_start_of_summer_time_is_one_day(tenant):
    # Berlin starts summer time on Sunday 29 March 2026: 02:00 CET becomes 03:00 CEST.
    window = Window(last=date(2026, 3, 30), days=3, zone=BERLIN)  # 28, 29, 30 March
    assert window.end - window.start == timedelta(hours=3 * 24 - 1)
    QueryFactory(created_at=datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # 29 Mar 00:00 CET
    QueryFactory(created_at=datetime(2026, 3, 29, 21, 59, tzinfo=UTC))  # 29 Mar 23:59 CEST
    QueryFactory(created_at=datetime(2026, 3, 29, 22, 0, tzinfo=UTC))  # 30 Mar 00:00 CEST

    assert [day.searches for day in query_summary.per_day(window)] == [0, 2, 1]


def test_a_day_whose_midnight_is_skipped_starts_at_one(tenant):
    # Chile moves its clocks from 00:00 to 01:00 on Sunday 6 September 2026.
    santiago = ZoneInfo("America/Santiago")
    window = Window(last=date(2026, 9, 6), days=1, zone=santiago)
    assert window.start == datetime(2026, 9, 6, 4, tzinfo=UTC)  # 01:00 -03
    assert window.end - window.start == timedelta(hours=23)
    QueryFactory(created_at=datetime(2026, 9, 6, 4, 0, tzinfo=UTC))
    QueryFactory(created_at=datetime(2026, 9, 6, 3, 59, tzinfo=UTC))  # 5 Sep 23:59 -04
    assert [day.searches for day in query_summary.per_day(window)] == [1]


def test_lists_cover_the_zones_days(tenant):
    QueryFactory(created_at=at(14, 23, 30), text="bike lease", result_count=0)  # 15 Nov in Tokyo
    QueryFactory(created_at=at(15, 16, 0), text="bike lease", result_count=0)  # 16 Nov in Tokyo

    [gap] = query_lists.content_gaps(Window(last=date(2026, 11, 15), days=1, zone=TOKYO))
    assert (gap.text, gap.count, gap.last_seen) == ("bike lease", 1, at(14, 23, 30))
    assert query_lists.content_gaps(Window(last=date(2026, 11, 14), days=1, zone=TOKYO)) == []
    [utc_gap] = query_lists.content_gaps(Window(last=date(2026, 11, 14), days=1))
    assert utc_gap.last_seen == at(14, 23, 30)


def test_uploads_per_day_are_counted_in_the_zone(tenant):
    # Uploaded a minute after midnight in Tokyo, which is the previous day in UTC.
    tokyo_today = datetime.now(TOKYO).date()
    moment = datetime.combine(tokyo_today, datetime.min.time(), tzinfo=TOKYO) + timedelta(minutes=1)
    DocumentFactory(created_at=moment)

    in_tokyo = selectors.uploads_per_day(days=2, zone=TOKYO)
    assert in_tokyo == [(tokyo_today - timedelta(days=1), 0), (tokyo_today, 1)]
    in_utc = dict(selectors.uploads_per_day(days=3, today=tokyo_today))
    assert in_utc[tokyo_today - timedelta(days=1)] == 1
