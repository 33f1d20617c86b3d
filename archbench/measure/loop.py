"""The timing loop: per-call wall time with perf_counter_ns, adaptive stopping at planned looks."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archbench.measure.stats import Decision, StoppingRule


@dataclass
class LoopResult:
    samples_ms: np.ndarray
    decision: Decision | None
    stop_reason: str
    wall_s: float


def time_calls(fn: Callable[[Any], Any], inputs: Sequence[Any], rule: StoppingRule | None, fixed_samples: int | None,
               max_seconds: float, on_look: Callable[[], Any] | None = None) -> LoopResult:  # fmt: skip
    """Time fn(input) one call per sample, cycling through inputs.

    The timed region holds only the call: the sample store, the clock reads and the input pick cost
    ~0.2 µs a call. Statistics are computed at looks, outside the timed region; so is on_look (e.g. a
    host-interference probe). With fixed_samples, no adaptive stopping (the time cap still holds, and is
    reported as the stop reason).
    """
    looks = [fixed_samples] if fixed_samples else (rule.looks if rule else [1000])
    samples = np.empty(looks[-1], dtype=np.int64)
    n_inputs = len(inputs)
    clock = time.perf_counter_ns
    start = clock()
    deadline = start + int(max_seconds * 1e9)
    i, timed_out = 0, False
    decision, reason = None, ""
    for look in looks:
        while i < look and not timed_out:
            x = inputs[i % n_inputs]
            t0 = clock()
            fn(x)
            t1 = clock()
            samples[i] = t1 - t0
            i += 1
            timed_out = t1 > deadline
        if on_look is not None:
            on_look()
        stop = False
        if rule is not None:
            stop, decision, reason = rule.check(samples[:i] / 1e6)
        if fixed_samples or rule is None:
            stop, reason = True, "time cap reached" if i < look else "fixed sample count"
        if timed_out and not stop:
            stop, reason = True, "time cap reached"
        if stop:
            break
    return LoopResult(samples[:i] / 1e6, decision, reason, (clock() - start) / 1e9)


def warm_up(fn: Callable[[Any], Any], inputs: Sequence[Any], calls: int, min_seconds: float = 0.1) -> int:
    """Run until both `calls` calls and `min_seconds` have passed (lazy init, caches, allocator pools)."""
    done, end = 0, time.perf_counter() + min_seconds
    while done < calls or time.perf_counter() < end:
        fn(inputs[done % len(inputs)])
        done += 1
    return done


def measure_throughput(fn: Callable[[Any], Any], inputs: Sequence[Any], batch_size: int, seconds: float) -> float:
    """Items per second, calls back to back for `seconds` (its own measurement, not 1/latency)."""
    n, start = 0, time.perf_counter()
    end = start + seconds
    while True:
        fn(inputs[n % len(inputs)])
        n += 1
        now = time.perf_counter()
        if now >= end:
            return n * batch_size / (now - start)
