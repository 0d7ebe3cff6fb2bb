"""Moments for the analytics tests, which log their queries in November 2026 (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A moment in November 2026, UTC."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC)
