"""A workspace's time zone: IANA names (zoneinfo), their validation and the setting's write.

Analytics count days in this zone. The name is stored as typed by a workspace admin or an
operator, after it was matched (ignoring case) against `zoneinfo.available_timezones()`.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

if TYPE_CHECKING:  # tenants.models uses this module's validator
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "UTC"
UTC_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)


# In the tz database's directory, but no place: the host's own zone, and a placeholder.
NOT_A_PLACE = frozenset({"localtime", "Factory"})


@functools.cache
def _names_by_folded_name() -> dict[str, str]:
    # Reads the tz database's directory tree: once per process.
    names = zoneinfo.available_timezones() - NOT_A_PLACE
    return {name.casefold(): name for name in names}


def time_zone_names() -> list[str]:
    """Every IANA name this system knows, sorted (e.g. for a select or a datalist)."""
    return sorted(_names_by_folded_name().values())


def canonical_time_zone(value: str) -> str | None:
    """The IANA name as spelled in the tz database ("europe/berlin" -> "Europe/Berlin")."""
    return _names_by_folded_name().get(value.strip().casefold())


def unknown_time_zone_message(value: str) -> str:
    shown = value.strip()[:80] or "(empty)"
    return (
        f"'{shown}' is not a time zone we know; use an IANA name such as "
        "'Europe/Berlin', 'America/Los_Angeles' or 'UTC'."
    )


def validate_time_zone(value: str) -> None:
    """Model and form validator: only exact IANA names are stored."""
    if canonical_time_zone(value) != value:
        raise ValidationError(unknown_time_zone_message(value), code="unknown_time_zone")


def zone_of(tenant: Tenant | None) -> ZoneInfo:
    """The tenant's zone; UTC without a tenant or when its name left the tz database."""
    name = getattr(tenant, "time_zone", "") or DEFAULT_TIME_ZONE
    canonical = canonical_time_zone(name)
    if canonical is None:
        logger.warning("time zone %r of %s is unknown here; using UTC", name, tenant)
        return UTC_ZONE
    return ZoneInfo(canonical)
