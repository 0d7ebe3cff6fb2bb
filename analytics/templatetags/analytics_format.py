"""Template filters for the analytics page: rates and latencies that may be missing, and
dates in the active time zone (the page renders inside `{% timezone <workspace zone> %}`)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import dateformat, timezone

register = template.Library()

MISSING = "—"


@register.filter
def percent(rate: float | None) -> str:
    """0.125 → "12.5 %"; no data → a dash."""
    if rate is None:
        return MISSING
    return f"{rate * 100:.1f} %"


@register.filter
def ms(value: float | None) -> str:
    """12.34 → "12 ms", 1234.5 → "1.23 s"; no data → a dash."""
    if value is None:
        return MISSING
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"


@register.filter
def number(value: int | None) -> str:
    """1234567 → "1,234,567": large counts stay readable; no data → a dash."""
    if value is None:
        return MISSING
    return f"{int(value):,}"


@register.filter
def short_date(value: date | None) -> str:
    """A day, or a moment's day in the active time zone: "Nov 3" in the current year there,
    else "Nov 3, 2025"; no-break spaces, so the date never wraps in two."""
    if value is None:
        return MISSING
    local = timezone.localtime(value) if isinstance(value, datetime) else value
    if local.year == timezone.localdate().year:
        return dateformat.format(local, "M\u00a0j")
    return dateformat.format(local, "M\u00a0j,\u00a0Y")


@register.filter
def short_datetime(value: datetime | None) -> str:
    """`short_date` with the local time and the zone's abbreviation: "Nov 3, 14:05 CET"."""
    if value is None:
        return MISSING
    return f"{short_date(value)}, {dateformat.format(timezone.localtime(value), 'H:i T')}"
