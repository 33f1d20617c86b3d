"""Decision quality of latency verdicts: archbench's adaptive order-statistic rule vs the naive rule.

Simulates latency distributions whose true p95 is a known multiple of the budget (0.8x, 0.95x, 1.0x,
1.002x, 1.05x, 1.2x) and counts wrong verdicts over many repetitions. At 1.0x the true p95 is exactly
the budget (pass is right); at 1.002x it is just over (fail is right): the worst cases of the rule.
Distributions: log-normal, bimodal, and input-dependent latency (a fixed pool of 1,024 requests with
heavy-tailed per-request cost, one request drawn at random per call, plus timing noise).
- archbench: StoppingRule (order-statistic bounds, looks calibrated exactly) until decided or max_samples;
- naive: point-estimate p95 of a fixed 100 samples compared with the budget.
A wrong verdict is "feasible" when the truth is infeasible, or the reverse. Undecided is not wrong
(it is reported as such) but is counted. Target: archbench wrong rate <= 1 - confidence.

    python benchmarks/decision_quality.py [--reps 2000] [--confidence 0.99]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from archbench.measure.stats import StoppingRule

Q = 0.95


def lognormal(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.lognormal(0.0, 0.35, n)


def bimodal(rng: np.random.Generator, n: int) -> np.ndarray:
    """A fast mode and a slow mode (e.g. cache misses / GC): 88% near 1.0, 12% near 1.8."""
    slow = rng.random(n) < 0.12
    return np.where(slow, rng.normal(1.8, 0.08, n), rng.normal(1.0, 0.05, n))


_POOL = np.random.default_rng(777).pareto(2.5, 1024) + 1.0  # per-request cost: heavy-tailed


def request_pool(rng: np.random.Generator, n: int) -> np.ndarray:
    """Input-dependent latency: a random request from a fixed pool each call, times 3% timing noise."""
    return _POOL[rng.integers(0, len(_POOL), n)] * rng.lognormal(0.0, 0.03, n)


def true_quantile(dist, q: float) -> float:
    return float(np.quantile(dist(np.random.default_rng(12345), 4_000_000), q))


def adaptive_verdict(dist, rng: np.random.Generator, budget: float, confidence: float,
                     max_samples: int) -> tuple[str, int]:  # fmt: skip
    rule = StoppingRule(Q, confidence, budget, min_samples=20, max_samples=max_samples, target_rel_width=0.05)
    samples = np.empty(0)
    for look in rule.looks:
        samples = np.concatenate([samples, dist(rng, look - len(samples))])
        stop, decision, _ = rule.check(samples)
        if stop:
            return decision.verdict, len(samples)
    return "undecided", len(samples)


def naive_verdict(dist, rng: np.random.Generator, budget: float) -> str:
    return "pass" if np.quantile(dist(rng, 100), Q) <= budget else "fail"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=600)
    ap.add_argument("--confidence", type=float, default=0.99)
    ap.add_argument("--max-samples", type=int, default=20000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    print(f"confidence {args.confidence}, {args.reps} repetitions per cell, max {args.max_samples} samples\n")
    header = f"{'distribution':<12} {'p95/budget':>10} {'archbench wrong':>16} {'undecided':>10} " \
             f"{'median n':>9} {'naive wrong':>12} {'naive/archbench':>16}"  # fmt: skip
    print(header)
    print("-" * len(header))
    worst = 0.0
    for name, dist in (("log-normal", lognormal), ("bimodal", bimodal), ("request pool", request_pool)):
        p95 = true_quantile(dist, Q)
        for ratio in (0.8, 0.95, 1.0, 1.002, 1.05, 1.2):
            budget = p95 / ratio
            truth = "pass" if p95 <= budget else "fail"
            verdicts = [
                adaptive_verdict(dist, rng, budget, args.confidence, args.max_samples) for _ in range(args.reps)
            ]
            wrong = sum(v not in (truth, "undecided") for v, _ in verdicts) / args.reps
            undecided = sum(v == "undecided" for v, _ in verdicts) / args.reps
            n_med = int(np.median([n for _, n in verdicts]))
            naive = sum(naive_verdict(dist, rng, budget) != truth for _ in range(args.reps)) / args.reps
            worst = max(worst, wrong)
            ratio_txt = f"{naive / wrong:.0f}x" if wrong else ("inf" if naive else "-")
            print(f"{name:<12} {ratio:>10.3f} {wrong:>16.4f} {undecided:>10.3f} {n_med:>9d} {naive:>12.4f} "
                  f"{ratio_txt:>16}")  # fmt: skip
    print(
        f"\nworst archbench wrong-verdict rate {worst:.4f} (target <= {1 - args.confidence:.4f}): "
        f"{'OK' if worst <= 1 - args.confidence else 'MISSED'}   [{time.perf_counter() - start:.0f} s]"
    )


if __name__ == "__main__":
    main()
