"""How long this process's threads waited for a core: the kernel's run-queue delay (Linux schedstat).

A speed probe (measure/interference.py) sees a core that runs slow; it cannot see time-slicing, where
the timed thread simply waits while another process has its core. The kernel counts that wait per
thread in /proc/<pid>/task/<tid>/schedstat (second field, ns), and involuntary context switches in
getrusage. Read before and after the timing loop; the difference, against the loop's wall time, says
how much of the measured time was spent waiting rather than computing. Pure; None off Linux.
"""

from __future__ import annotations

import resource
from pathlib import Path


def wait_ns() -> int | None:
    """Total run-queue delay of every thread of this process so far (ns)."""
    total, seen = 0, False
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return None
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
        except OSError:  # a thread that ended meanwhile, or no schedstat in this kernel
            continue
        if len(fields) >= 2:
            total += int(fields[1])
            seen = True
    return total if seen else None


def involuntary_switches() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


class RunQueueWatch:
    """Start before the timed loop, stop after: wait_ms and involuntary switches in between."""

    def __init__(self) -> None:
        self._wait0 = wait_ns()
        self._switch0 = involuntary_switches()

    def stop(self) -> tuple[float | None, int]:
        end = wait_ns()
        waited = None if end is None or self._wait0 is None else max(0, end - self._wait0) / 1e6
        return waited, involuntary_switches() - self._switch0
