"""Fixed-window request counters in Redis, several per round trip (used by accounts.ratelimits).

A window starts with a counter's first hit and lasts the rate's period; the key then expires.
`count()` sends one Lua script that increments the counters in order and stops at the first
one over its limit, so a refused request does not use up the budgets after it. Keys go
through the cache's key function (django-tenants' `make_key`: the current schema is in every
key) and start with `rl:` after it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")

# KEYS: the counters; ARGV: limit and window (ms) of each. Returns count and ms left per
# counter counted. PTTL is -1 only for a key that has no expiry yet: its window starts now.
_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  local left = redis.call('PTTL', key)
  if left < 0 then
    left = tonumber(ARGV[2 * i])
    redis.call('PEXPIRE', key, left)
  end
  out[#out + 1] = count
  out[#out + 1] = left
  if count > tonumber(ARGV[2 * i - 1]) then
    break
  end
end
return out
"""


@dataclass(frozen=True)
class Counter:
    group: str  # what is counted: "api", "ask", "login-ip", ...
    key: str  # whose hits: a user, API key, IP, email or tenant
    rate: str  # "<count>/<period>", e.g. "600/m" or "10/5m"


@dataclass(frozen=True)
class Usage:
    count: int
    limit: int
    seconds_left: float

    @property
    def should_limit(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def parse_rate(rate: str) -> tuple[int, int]:
    """(limit, period in seconds) of a rate such as "600/m", "30/h" or "10/5m"."""
    match = _RATE.match(rate)
    if match is None:
        raise ValueError(f"The rate {rate!r} is not of the form '<count>/<period>', e.g. '600/m'.")
    limit, multiplier, unit = match.groups()
    return int(limit), int(multiplier or 1) * _PERIODS[unit]


def _redis_key(cache: Any, counter: Counter, limit: int, period: int) -> str:
    # The caller's key may be an email or an address: hashed, it is safe in any key.
    digest = hashlib.sha256(f"{limit}/{period}:{counter.key}".encode()).hexdigest()[:32]
    return str(cache.make_key(f"rl:{counter.group}:{digest}"))


def count(counters: list[Counter]) -> list[Usage] | None:
    """Count one hit on each counter, in order, stopping after the first one over its limit.

    Returns one Usage per counter counted, or None when there is nothing to count or rate
    limiting is switched off (RATELIMIT_ENABLE = False). Raises when Redis cannot be
    reached; callers decide whether that fails open or closed.
    """
    if not counters or not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    rates = [parse_rate(counter.rate) for counter in counters]
    keys = [
        _redis_key(cache, counter, limit, period)
        for counter, (limit, period) in zip(counters, rates, strict=True)
    ]
    args: list[int] = []
    for limit, period in rates:
        args += [limit, period * 1000]
    client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    raw = client.register_script(_SCRIPT)(keys=keys, args=args, client=client)
    return [
        Usage(count=int(raw[i]), limit=rates[i // 2][0], seconds_left=int(raw[i + 1]) / 1000)
        for i in range(0, len(raw), 2)
    ]


# Takes one hit back from a counter whose window is still open (never creates a key, which
# would then never expire).
_UNCOUNT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""


def uncount(counter: Counter) -> None:
    """Take back one hit counted by `count()` (a sign-in that turned out to be right)."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    limit, period = parse_rate(counter.rate)
    client = cache.client.get_client(write=True)  # type: ignore[attr-defined]
    client.register_script(_UNCOUNT)(
        keys=[_redis_key(cache, counter, limit, period)], args=[], client=client
    )
