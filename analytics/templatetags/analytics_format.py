"""Template filters for the analytics page: rates and latencies that may be missing."""

from __future__ import annotations

from django import template

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
