"""Power of the regression gate: A/A false alarms (also with --strict) and detection of a true regression.

Simulates pairs of runs of the gate's own latency test (archbench.gate.latency_check) on log-normal
latencies (sigma 0.3): A/A (same distribution) and A/B (new p95 = 1.10x the baseline's), at the sample
count the gate itself says it needs to see a 10% regression with tolerance 5% (asked from one pilot
pair at 1,000 samples), and at 1,000 samples for contrast.
Targets: A/A false alarms <= 1% (fail), <= 1% with --strict (fail or inconclusive); detection of a
true 10% regression >= 95% at the count the gate states.

    python benchmarks/gate_power.py [--reps 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from archbench.gate import latency_check, ratio_test, verdict
from archbench.result import LatencyDecision, Result

SIGMA, TOL, CONF = 0.3, 0.05, 0.99


def run(rng: np.random.Generator, n: int, scale: float) -> Result:
    samples = rng.lognormal(np.log(scale), SIGMA, n)
    r = Result("m", "onnx", "edge", latency={"p95": float(np.quantile(samples, 0.95))},
               latency_samples_ms=samples.tolist())  # fmt: skip
    r.latency_decision = LatencyDecision("p95", r.latency["p95"], 0, 0, CONF, 0.0, "")
    return r


def rates(rng: np.random.Generator, n: int, ratio: float, reps: int) -> tuple[float, float]:
    """(fraction failing without --strict, fraction failing with --strict)."""
    fail = strict = 0
    for _ in range(reps):
        check = latency_check(run(rng, n, ratio), run(rng, n, 1.0), TOL, CONF)
        fail += not verdict([check], strict=False)
        strict += not verdict([check], strict=True)
    return fail / reps, strict / reps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    pilot = ratio_test(rng.lognormal(0, SIGMA, 1000), rng.lognormal(0, SIGMA, 1000), 0.95, CONF, TOL, target=0.10)
    needed = int(pilot.samples_needed or 0)
    print(f"log-normal sigma {SIGMA}, tolerance {TOL:.0%}, false-alarm rate {1 - CONF:.0%}, {args.reps} pairs per row")
    print(f"pilot at 1,000 samples: gate can see >= {pilot.detectable:.0%}; it needs {needed} samples per run "
          f"to see 10%\n")  # fmt: skip
    header = f"{'samples/run':>11} {'true ratio':>10} {'fails':>8} {'fails --strict':>15}"
    print(header)
    print("-" * len(header))
    ok = True
    for n in (1000, needed):
        for ratio in (1.0, 1.10):
            f, s = rates(rng, n, ratio, args.reps)
            print(f"{n:>11d} {ratio:>10.2f} {f:>8.3f} {s:>15.3f}")
            if n == needed:
                ok &= (f <= 0.01 and f >= 0) if ratio == 1.0 else f >= 0.95
    strict_aa = rates(rng, needed, 1.0, args.reps)[1]
    print(f"\nA/A false alarms <= 1%, detection of 10% >= 95% at {needed} samples: {'OK' if ok else 'MISSED'}; "
          f"--strict A/A at {needed}: {strict_aa:.3f}   [{time.perf_counter() - start:.0f} s]")  # fmt: skip


if __name__ == "__main__":
    main()
