"""Host interference: is the core running slower right now than it can?

On shared machines (cloud VMs, a busy hyperthread sibling, thermal or power capping) a core can run a
fixed piece of work 1.5-2x slower for seconds at a time. Every timing loop taken then, archbench's or
a bare one, is slower by the same factor, and confidence bounds cannot see it: they cover sampling
noise within one measurement, not the machine changing speed under it. So each measuring child times
a fixed reference kernel before and after its timing loop (not between looks: moving the
timed thread across cores to probe them would disturb the very calls being timed). The
sweep compares the median of those readings with the quietest median any measurement on the same cores
gave in the sweep; a measurement taken while the core ran more than `interference_threshold` times
slower is re-measured later, and flagged `disturbed` if it never got a quiet moment. Medians, not
extremes: a quiet core's readings still spread ~1.2x (interrupts, caches), a slow state is 1.5-2x and
lasts seconds. Pure: no numpy, no torch.

The kernel is native code (SHA-256 of a buffer that stays in cache), not a Python loop: a Python loop's
speed is a property of the process as much as of the core. Measured on a quiet 2-core VM, pinned to one
core, the median of a 2,000-iteration loop ranged 65-87 µs across six bare interpreters and 74-137 µs
across six that had imported torch, so the quietest process set a floor most others read "1.3-1.8x
slower" from. The hash ranged 43-50 µs across the same eighteen processes.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Iterable

KERNEL_VERSION = 2  # readings of another kernel are not comparable: stored floors are kept per version
_BUFFER = bytes(range(256)) * 128  # 32 KiB: stays in L1/L2, so the kernel times the core, not memory
MAX_PROBED_CORES = 8  # beyond this a probe of every allowed core costs more than it tells


def _kernel() -> bytes:
    """~45 µs on a 2020s server core: cheap enough to run before and after every loop."""
    digest = hashlib.sha256(_BUFFER)
    digest.update(_BUFFER)
    return digest.digest()


def reference_us(reps: int = 5) -> float:
    """Reference kernel time in µs on the slowest core this process may run on.

    A multi-threaded runtime is as slow as its slowest core, so with a few allowed cores each is probed
    in turn (the calling thread is moved there and back; threads the runtimes already started keep their
    own affinity). The median of `reps` runs per core shrugs off one interrupt or the migration itself.
    """
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if not 1 < len(allowed) <= MAX_PROBED_CORES:
        return _median_us(reps)
    worst = 0.0
    try:
        for core in allowed:
            os.sched_setaffinity(0, [core])
            worst = max(worst, _median_us(reps))
    finally:
        os.sched_setaffinity(0, allowed)
    return worst


def _median_us(reps: int) -> float:
    clock = time.perf_counter_ns
    times = []
    for _ in range(reps):
        t0 = clock()
        _kernel()
        times.append(clock() - t0)
    return statistics.median(times) / 1e3


def floor_key(cores: Iterable[int] | None) -> tuple[int, ...]:
    """Readings are comparable only on the same cores (a big and a little core differ by design)."""
    return tuple(sorted(cores)) if cores else ()


def typical(readings: list[float] | None) -> float | None:
    """One measurement's reference speed: the median of its readings."""
    return statistics.median(readings) if readings else None


def slowdown(readings: list[float] | None, floor: float | None) -> float | None:
    """This measurement's reference speed over the quietest seen on these cores: 1.0 = as quiet as it gets."""
    value = typical(readings)
    if value is None or not floor or floor <= 0:
        return None
    return value / floor


def floors(measurements: Iterable[tuple[tuple[int, ...], list[float] | None]]) -> dict[tuple[int, ...], float]:
    """Quietest measurement's reference speed per core set, over (floor key, probe readings) pairs."""
    best: dict[tuple[int, ...], float] = {}
    for key, readings in measurements:
        value = typical(readings)
        if value is not None:
            best[key] = min(value, best.get(key, float("inf")))
    return best
