"""The analytics page's number filters."""

from __future__ import annotations

from analytics.templatetags.analytics_format import MISSING, ms, number, percent


def test_large_counts_are_grouped_by_thousands():
    assert number(0) == "0"
    assert number(999) == "999"
    assert number(1234567) == "1,234,567"
    assert number(None) == MISSING


def test_rates_and_latencies_keep_their_units():
    assert percent(0.125) == "12.5 %"
    assert percent(None) == MISSING
    assert ms(12.34) == "12 ms"
    assert ms(1234.5) == "1.23 s"
