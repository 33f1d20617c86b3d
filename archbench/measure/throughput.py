"""Throughput (items per second) with a confidence interval, so `min_throughput` is decided like every other
budget: pass when the lower bound clears it, fail when the upper bound does not, undecided between.

One process times calls back to back and splits them into BATCHES consecutive groups of equal call count
(the batch-means method of simulation output analysis: groups of many calls are close to independent, so a
t-interval over the groups' time per item is honest where one over single calls, which are correlated, is
not). Several
processes (`repeats:`) are decided on their process means instead: a process's speed is partly its own
(code layout, allocator state), and groups inside one process cannot show that spread.

Pure: scipy's t quantile (scipy comes with scikit-learn), imported lazily.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archbench import fmt

BATCHES = 10  # groups per process: 9 degrees of freedom
MIN_CALLS = 2 * BATCHES  # at least two calls a group, else a group's rate is one call's
MAX_STRETCH = 10.0  # a slow model may run past `seconds` for MIN_CALLS, to at most this many times it


@dataclass
class ThroughputReading:
    """One process's back-to-back run: its overall rate and the rate of each consecutive group of calls."""

    items_per_s: float
    groups: list[float] = field(default_factory=list)  # items/s of each consecutive group


@dataclass
class ThroughputEstimate:
    value: float  # items per second
    low: float | None  # one-sided lower bound at the confidence asked for (None: too few groups to say)
    high: float | None
    detail: str


def time_back_to_back(fn: Callable[[Any], Any], inputs: Sequence[Any], batch_size: int, seconds: float,
                      clock: Callable[[], float] = time.perf_counter) -> ThroughputReading:  # fmt: skip
    """Calls back to back for `seconds` (and at least MIN_CALLS, up to MAX_STRETCH x seconds): items/s overall
    and per group. Its own measurement, not 1/latency: no per-call clock reads between calls but one."""
    ends: list[float] = []
    start = clock()
    while True:
        fn(inputs[len(ends) % len(inputs)])
        now = clock()
        ends.append(now)
        elapsed = now - start
        if (elapsed >= seconds and len(ends) >= MIN_CALLS) or elapsed >= seconds * MAX_STRETCH:
            break
    return ThroughputReading(len(ends) * batch_size / (ends[-1] - start), group_rates(start, ends, batch_size))


def group_rates(start: float, ends: Sequence[float], batch_size: int, groups: int = BATCHES) -> list[float]:
    """Items/s of each of `groups` consecutive groups of equal call count (calls past the last whole group
    are left out, so the groups' mean time per item is exactly their overall one). Empty when there are fewer
    than two calls a group."""
    size = len(ends) // groups
    if size < 2:
        return []
    rates, begin = [], start
    for g in range(groups):
        end = ends[(g + 1) * size - 1]
        if end <= begin:
            return []
        rates.append(size * batch_size / (end - begin))
        begin = end
    return rates


def t_interval(values: Sequence[float], confidence: float) -> tuple[float, float, float]:
    """(mean, low, high): each end a one-sided bound at `confidence`, Student t with n-1 degrees of freedom."""
    from scipy.stats import t

    n = len(values)
    mean = math.fsum(values) / n
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(t.ppf(confidence, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def rate_interval(rates: Sequence[float], confidence: float) -> tuple[float, float, float]:
    """(rate, low, high) from units of equal work: the interval is taken on time per item, whose mean is the
    overall time per item (a mean of rates is not the overall rate), then turned back into items/s."""
    mean, fast, slow = t_interval([1.0 / r for r in rates], confidence)
    return 1.0 / mean, 1.0 / slow, (1.0 / fast if fast > 0 else math.inf)


def estimate(readings: Sequence[ThroughputReading], confidence: float) -> ThroughputEstimate | None:
    """The throughput verdict's numbers from one or more processes' readings; None when nothing was timed."""
    if not readings:
        return None
    if len(readings) >= 2:  # the processes are the units: their spread is part of what a deployment sees
        rates = [r.items_per_s for r in readings]
        value, low, high = rate_interval(rates, confidence)
        each = ", ".join(fmt.si(r) for r in rates)
        return ThroughputEstimate(value, low, high, f"across {len(readings)} processes ({each} items/s)")
    reading = readings[0]
    if len(reading.groups) < 2:
        return ThroughputEstimate(reading.items_per_s, None, None, "too few calls for an interval")
    value, low, high = rate_interval(reading.groups, confidence)
    return ThroughputEstimate(value, low, high, f"{len(reading.groups)} groups of calls in one process")
