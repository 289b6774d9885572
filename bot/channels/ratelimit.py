"""Token buckets for provider throughput limits.

A channel never sleeps to honour a limit: it asks the throttle how long to wait and, if the answer
is not zero, raises RateLimitedError so the outbox re-queues the message and sends others
meanwhile. Time comes from the injected Clock, so tests move it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rate:
    """`per_second` tokens refill each second, up to `burst` saved up."""

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate needs per_second > 0 and burst >= 1")


class TokenBucket:
    """A classic token bucket; starts full."""

    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.burst
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.rate.burst, self.tokens + (now - self.updated) * self.rate.per_second)
            self.updated = now

    def wait_for(self, now: float, cost: float = 1.0) -> float:
        """Seconds until `cost` tokens are available (0.0 if they are now). Takes nothing."""
        self._refill(now)
        cost = min(cost, self.rate.burst)  # a 3-segment SMS on a burst-1 sender must still go
        missing = cost - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate.per_second

    def take(self, now: float, cost: float = 1.0) -> None:
        self._refill(now)
        self.tokens -= min(cost, self.rate.burst)

    def is_full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.rate.burst


class Throttle:
    """An overall bucket plus one bucket per key (e.g. per Telegram chat)."""

    _PRUNE_AT = 10_000

    def __init__(self, overall: Rate | None = None, per_key: Rate | None = None) -> None:
        self.overall = overall
        self.per_key = per_key
        self._overall_bucket: TokenBucket | None = None
        self._buckets: dict[str, TokenBucket] = {}

    def acquire(self, now: float, key: str = "", cost: float = 1.0) -> float:
        """Take `cost` tokens from every bucket that applies and return 0.0, or take nothing and
        return the seconds to wait before trying again."""
        buckets: list[TokenBucket] = []
        if self.overall is not None:
            if self._overall_bucket is None:
                self._overall_bucket = TokenBucket(self.overall, now)
            buckets.append(self._overall_bucket)
        if self.per_key is not None:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._PRUNE_AT:
                    self._prune(now)
                bucket = self._buckets[key] = TokenBucket(self.per_key, now)
            buckets.append(bucket)
        wait = max((b.wait_for(now, cost) for b in buckets), default=0.0)
        if wait == 0.0:
            for b in buckets:
                b.take(now, cost)
        return wait

    def _prune(self, now: float) -> None:
        # A full bucket holds no information: forgetting it changes nothing.
        self._buckets = {k: b for k, b in self._buckets.items() if not b.is_full(now)}
