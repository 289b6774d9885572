"""Token buckets: pure arithmetic on the time they are given."""

from __future__ import annotations

import pytest

from bot.channels.ratelimit import Rate, Throttle


def test_a_bucket_allows_its_burst_then_one_per_refill_interval() -> None:
    throttle = Throttle(per_key=Rate(per_second=1.0, burst=3))
    assert [throttle.acquire(0.0, "chat") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert throttle.acquire(0.0, "chat") == pytest.approx(1.0)
    assert throttle.acquire(0.5, "chat") == pytest.approx(0.5)
    assert throttle.acquire(1.0, "chat") == 0.0


def test_a_refused_request_takes_nothing_from_any_bucket() -> None:
    throttle = Throttle(overall=Rate(10.0, burst=10), per_key=Rate(1.0, burst=1))
    assert throttle.acquire(0.0, "a") == 0.0
    assert throttle.acquire(0.0, "a") > 0  # held by the per-chat bucket...
    assert [throttle.acquire(0.0, k) for k in "bcdefghij"] == [0.0] * 9  # ...not counted overall
    assert throttle.acquire(0.0, "k") == pytest.approx(0.1)


def test_costs_larger_than_the_burst_still_pass_when_the_bucket_is_full() -> None:
    throttle = Throttle(overall=Rate(1.0, burst=1))
    assert throttle.acquire(0.0, cost=3) == 0.0  # a 3-segment SMS on a 1-segment/s sender
    assert throttle.acquire(0.0) == pytest.approx(1.0)


def test_idle_chats_are_forgotten_without_changing_any_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Throttle, "_PRUNE_AT", 3)
    throttle = Throttle(per_key=Rate(1.0, burst=1))
    for key in "abc":
        throttle.acquire(0.0, key)
    throttle.acquire(10.0, "d")  # a, b, c have refilled: pruned
    assert set(throttle._buckets) == {"d"}
    assert throttle.acquire(10.0, "d") == pytest.approx(1.0)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Rate(0)
