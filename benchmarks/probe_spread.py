"""Host-interference probe: does its reading depend on the core, or on the process that takes it?

The sweep flags a measurement `disturbed` when its probe reads more than `interference_threshold`
(1.25x) slower than the quietest reading on the same cores. That is only sound if fresh processes on a
quiet core read alike. This starts ROUNDS fresh processes per kind (bare Python, after `import torch`,
after `import onnxruntime`), alternated, all pinned to one core, and times two kernels in each: the
2,000-iteration Python loop archbench used first and today's native kernel (SHA-256 of 64 KiB). It prints
each kernel's per-process medians, their max/min spread, and the share of processes a 1.25x threshold
over the quietest one would call disturbed. Run it on a quiet machine: the spread is the false-alarm
source, not a slow core.

    python benchmarks/probe_spread.py [--rounds 6] [--core 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
{imports}
import json, statistics, time
from archbench.measure.interference import _kernel

def python_loop():
    total = 0
    for i in range(2000):
        total += i
    return total

def median_us(kernel, reps=5):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        kernel()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e3

print(json.dumps({{name: statistics.median(median_us(k) for _ in range(20))
                  for name, k in (("python loop", python_loop), ("native (today)", _kernel))}}))
"""

KINDS = {"bare": "", "torch": "import torch", "onnxruntime": "import onnxruntime"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--core", type=int, default=None, help="pin every process to this core (default: last)")
    args = parser.parse_args()
    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    readings: dict[str, dict[str, list[float]]] = {}
    for _ in range(args.rounds):  # alternated: a slow moment hits every kind alike
        for kind, imports in KINDS.items():
            out = subprocess.run(["taskset", "-c", str(core), sys.executable, "-c", CHILD.format(imports=imports)],
                                 capture_output=True, text=True, check=True).stdout  # fmt: skip
            for kernel, us in json.loads(out).items():
                readings.setdefault(kernel, {}).setdefault(kind, []).append(us)
    print(f"{args.rounds} fresh processes per kind, pinned to core {core}; per-process median µs")
    for kernel, by_kind in readings.items():
        every = [us for values in by_kind.values() for us in values]
        quietest = min(every)
        flagged = sum(us > 1.25 * quietest for us in every)
        print(f"\n{kernel}: spread {max(every) / quietest:.2f}x, {flagged}/{len(every)} processes read > 1.25x the "
              f"quietest")  # fmt: skip
        for kind, values in by_kind.items():
            print(f"  {kind:<12} {' '.join(f'{v:6.1f}' for v in values)}   median {statistics.median(values):.1f}")


if __name__ == "__main__":
    main()
