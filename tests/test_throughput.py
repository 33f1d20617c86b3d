"""Throughput with a confidence interval: equal groups of back-to-back calls in one process, process means
across several. No torch."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from archbench.measure.throughput import (
    BATCHES,
    MAX_STRETCH,
    MIN_CALLS,
    ThroughputReading,
    estimate,
    group_rates,
    rate_interval,
    time_back_to_back,
)


class FakeClock:
    """Each call of the model advances time by the next of `durations` (cycled)."""

    def __init__(self, durations: list[float]) -> None:
        self.now, self.durations, self.calls = 100.0, durations, 0

    def clock(self) -> float:
        return self.now

    def call(self, _x: object) -> None:
        self.now += self.durations[self.calls % len(self.durations)]
        self.calls += 1


def test_group_rates_are_equal_call_counts_and_drop_the_remainder():
    ends = [1.0 + 0.01 * i for i in range(1, 24)]  # 23 calls of 10 ms from t=1: 10 groups of 2, 3 left over
    rates = group_rates(1.0, ends, batch_size=4)
    assert len(rates) == BATCHES and rates == pytest.approx([2 * 4 / 0.02] * BATCHES)
    assert group_rates(1.0, ends[:19], batch_size=4) == []  # under two calls a group: no groups


def test_back_to_back_runs_for_seconds_and_counts_items():
    fake = FakeClock([0.001])
    reading = time_back_to_back(fake.call, [0], batch_size=8, seconds=0.1, clock=fake.clock)
    assert fake.calls == 100 and reading.items_per_s == pytest.approx(8000.0)
    assert len(reading.groups) == BATCHES and reading.groups == pytest.approx([8000.0] * BATCHES)


def test_a_slow_model_still_gets_enough_calls_for_groups_but_not_forever():
    slow = FakeClock([0.05])  # 50 ms a call, 0.1 s asked: runs on to MIN_CALLS calls
    assert len(time_back_to_back(slow.call, [0], 1, 0.1, clock=slow.clock).groups) == BATCHES
    assert slow.calls == MIN_CALLS
    slower = FakeClock([1.0])  # stops at MAX_STRETCH x seconds: too few calls for an interval
    reading = time_back_to_back(slower.call, [0], 1, 0.1, clock=slower.clock)
    assert slower.calls == math.ceil(0.1 * MAX_STRETCH) and reading.groups == []
    assert estimate([reading], 0.99).low is None


def test_real_calls_on_a_busy_machine():
    def spin(_x: object) -> None:
        end = time.perf_counter_ns() + 100_000
        while time.perf_counter_ns() < end:
            pass

    reading = time_back_to_back(spin, [0], batch_size=10, seconds=0.05)
    assert reading.items_per_s <= 10 / 100e-6 * 1.01  # no call is under 100 µs, however busy the host
    est = estimate([reading], 0.99)
    assert est is not None and est.low <= est.value <= est.high


def test_constant_speed_gives_a_point_interval():
    value, low, high = rate_interval([500.0] * 10, 0.99)
    assert value == low == high == pytest.approx(500.0)


def test_interval_is_taken_on_time_per_item():
    """Two groups of equal work, at 100/s and 300/s: 2 items took 1/100 + 1/300 s, so 150/s overall (not 200)."""
    value, low, high = rate_interval([100.0, 300.0], 0.9)
    assert value == pytest.approx(150.0) and low < value < high


def test_one_sided_bounds_cover_at_the_confidence_asked():
    """Groups with noisy per-item times: each end misses the true rate in about 1% of runs at 0.99."""
    rng = np.random.default_rng(7)
    true_time = 1e-4
    misses_low = misses_high = 0
    runs = 4000
    for _ in range(runs):
        times = true_time * (1 + 0.2 * rng.standard_normal(BATCHES))
        est = estimate([ThroughputReading(1 / times.mean(), list(1 / times))], 0.99)
        misses_low += est.low > 1 / true_time
        misses_high += est.high < 1 / true_time
    # binomial(4000, 0.01): mean 40, sd 6.3; 70 is ~4.7 sd above
    assert 10 <= misses_low <= 70 and 10 <= misses_high <= 70, (misses_low, misses_high)


def test_several_processes_are_judged_on_their_spread():
    """Tight groups inside each process cannot hide that the processes ran at 45k and 78k items/s."""
    a = ThroughputReading(45_000.0, [45_000.0 + d for d in range(-5, 5)])
    b = ThroughputReading(78_000.0, [78_000.0 + d for d in range(-5, 5)])
    one = estimate([a], 0.99)
    assert one.high < 50_000 and "one process" in one.detail
    both = estimate([a, b], 0.99)
    assert "across 2 processes (45k, 78k items/s)" in both.detail and both.low < 50_000 < both.high


def test_nothing_timed_gives_no_estimate():
    assert estimate([], 0.99) is None
