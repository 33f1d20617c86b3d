"""Fewest samples that can prove a percentile budget is met: archbench's exact plan vs MLPerf LoadGen.

For p90/p95/p99 and a few confidences: archbench's min_samples_to_pass (default plan, exact worst-case
error <= 1 - confidence, recomputed here), the previous Bonferroni plan's count, LoadGen's SingleStream
early-stopping minimum (h_min(t=1) + 1, loadgen/early_stopping.cc + results.cc; LoadGen fixes
confidence 0.99), and the one-look floor ceil(log(1 - c) / log(q)) that no valid test can beat.

    python benchmarks/sample_efficiency.py
"""

from __future__ import annotations

import math
import time

from archbench import min_samples_to_pass
from archbench.config import PERCENTILES, MeasureSettings
from archbench.measure.stats import LOADGEN_SINGLE_STREAM_MIN, StoppingRule, binomial_pmf


def loadgen_single_stream(q: float, confidence: float) -> int:
    h = 1
    while binomial_pmf(h + 1, q)[-2:].sum() >= 1 - confidence:
        h += 1
    return h + 1


def bonferroni_count(q: float, confidence: float, looks: int = 12) -> int:
    """The previous plan: error split evenly over ~12 looks."""
    return math.ceil(math.log((1 - confidence) / looks) / math.log(q))


def main() -> None:
    start = time.perf_counter()
    m = MeasureSettings()
    header = f"{'percentile':<10} {'confidence':>10} {'archbench':>9} {'worst-case error':>16} " \
             f"{'Bonferroni (old)':>16} {'LoadGen':>8} {'one-look floor':>14}"  # fmt: skip
    print(header)
    print("-" * len(header))
    for pct in ("p90", "p95", "p99"):
        q = PERCENTILES[pct]
        for c in (0.95, 0.99, 0.999):
            ours = min_samples_to_pass(pct, c)
            rule = StoppingRule(q, c, 1.0, m.min_samples, m.max_samples, m.target_rel_width)
            err = max(rule.worst_case_error)
            lg = loadgen_single_stream(q, c)
            if c == 0.99:
                assert lg == LOADGEN_SINGLE_STREAM_MIN[pct]
            print(f"{pct:<10} {c:>10} {ours:>9d} {err:>16.5f} {bonferroni_count(q, c):>16d} {lg:>8d} "
                  f"{math.ceil(math.log(1 - c) / math.log(q)):>14d}")  # fmt: skip
    print(f"\nLoadGen figures at 0.99 from its source: {LOADGEN_SINGLE_STREAM_MIN} "
          f"[{time.perf_counter() - start:.1f} s]")  # fmt: skip


if __name__ == "__main__":
    main()
