"""Count apply attempts per client in Django's cache; refuse past the limit with how long to wait.

A window opens at a client's first attempt and lasts `rate.seconds`; every attempt counts,
refusals included, so guessing tokens or hammering the route costs the same as applying.
The cache must be shared by every worker of the site (Redis, Memcached, the database
cache): a per-process cache (LocMemCache) counts per worker.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import caches

from preflight.django.conf import Rate


@dataclass(frozen=True)
class Verdict:
    """This attempt's place in its client's window: allowed, or how long to wait."""

    allowed: bool
    attempts: int
    retry_after: int  # seconds until the window closes (0 when allowed)


def count(client: str, rate: Rate, cache_alias: str = "default", now: float | None = None) -> Verdict:
    """Count one attempt from `client` and say whether it is within `rate`."""
    cache = caches[cache_alias]
    # The client's address is hashed into the key: cache backends limit key characters (IPv6 colons).
    key = "preflight:apply-rate:" + hashlib.sha256(client.encode()).hexdigest()[:32]
    now = time.time() if now is None else now
    cache.add(f"{key}:start", now, timeout=rate.seconds)
    cache.add(key, 0, timeout=rate.seconds)
    try:
        attempts = cache.incr(key)
    except ValueError:  # the window closed between add and incr: this attempt opens the next one
        cache.set(f"{key}:start", now, timeout=rate.seconds)
        cache.set(key, 1, timeout=rate.seconds)
        attempts = 1
    if attempts <= rate.attempts:
        return Verdict(True, attempts, 0)
    start = cache.get(f"{key}:start", now)
    return Verdict(False, attempts, max(1, math.ceil(float(start) + rate.seconds - now)))
