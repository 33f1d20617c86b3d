"""Latency statistics and distribution-free percentile decisions. Pure: numpy only.

A latency budget is stated at a percentile (p95 < 10 ms). Whether a candidate meets it is decided on
order-statistic confidence bounds (binomial, like MLPerf LoadGen's early stopping), never on a point
estimate: the true p-quantile lies below the k-th smallest of n samples with a probability given by
the binomial CDF, whatever the latency distribution is.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

UNSTABLE_IQR_RATIO = 0.10  # torch.utils.benchmark flags IQR/median above ~10%
REPORTED_PERCENTILES = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}


def binomial_cdf(n: int, p: float) -> np.ndarray:
    """F[k] = P(Bin(n, p) <= k) for k = 0..n, computed in log space (stable for large n)."""
    k = np.arange(n + 1, dtype=np.float64)
    # log C(n, k) by the recurrence C(n, k) = C(n, k-1) * (n-k+1) / k, vectorised as a cumulative sum.
    log_comb = np.concatenate(([0.0], np.cumsum(np.log((n - k[1:] + 1) / k[1:]))))
    log_pmf = log_comb + k * math.log(p) + (n - k) * math.log1p(-p)
    peak = log_pmf.max()
    pmf = np.exp(log_pmf - peak)
    cdf = np.cumsum(pmf)
    return np.minimum(cdf / cdf[-1], 1.0)


def quantile_bounds(sorted_samples: np.ndarray, q: float, alpha: float) -> tuple[float, float]:
    """One-sided (1 - alpha) lower and upper confidence bounds on the true q-quantile.

    Upper: the u-th order statistic with P(Bin(n, q) <= u - 1) >= 1 - alpha (inf when n is too small).
    Lower: the l-th order statistic with P(Bin(n, q) <= l - 1) <= alpha (-inf when n is too small).
    """
    n = len(sorted_samples)
    if n == 0:
        return -math.inf, math.inf
    lower_count, upper_idx = bound_ranks(n, q, alpha)
    upper = float(sorted_samples[upper_idx]) if upper_idx < n else math.inf
    lower = float(sorted_samples[lower_count - 1]) if lower_count >= 1 else -math.inf
    return lower, upper


@functools.lru_cache(maxsize=4096)
def bound_ranks(n: int, q: float, alpha: float) -> tuple[int, int]:
    """(rank of the lower bound, 0-based index of the upper bound); cached: looks repeat the same n."""
    cdf = binomial_cdf(n, q)
    # cdf[k-1] is P(Bin <= k-1); order statistics are 1-indexed, arrays 0-indexed.
    upper_idx = int(np.searchsorted(cdf, 1 - alpha, side="left"))  # smallest u-1 with cdf >= 1-alpha
    lower_count = int(np.searchsorted(cdf, alpha, side="right"))  # number of k-1 with cdf <= alpha
    return lower_count, upper_idx


def min_samples_to_decide(q: float, confidence: float) -> int:
    """Fewest samples for which a one-sided upper bound on the q-quantile exists at this confidence.

    The largest sample bounds the q-quantile from above with probability 1 - q**n, so n must satisfy
    q**n <= 1 - confidence. p95 at 0.99 needs 90 samples; p99 at 0.99 needs 459.
    """
    return math.ceil(math.log(1 - confidence) / math.log(q))


@dataclass(frozen=True)
class Decision:
    verdict: str  # "pass" | "fail" | "undecided"
    lower_ms: float
    upper_ms: float
    alpha_per_look: float


def decide(sorted_ms: np.ndarray, q: float, budget_ms: float | None, alpha: float) -> Decision:
    lower, upper = quantile_bounds(sorted_ms, q, alpha)
    if budget_ms is None or upper <= budget_ms:
        verdict = "pass"
    elif lower > budget_ms:
        verdict = "fail"
    else:
        verdict = "undecided"
    return Decision(verdict, lower, upper, alpha)


@dataclass(frozen=True)
class StoppingRule:
    """When to stop timing: as soon as the budget verdict is certain, or the bound is tight enough.

    Looks happen at geometrically growing sample counts, from min_samples (enough to call a clearly
    over-budget candidate infeasible) through the fewest samples that can prove a pass. Each look is a
    test, so the error budget (1 - confidence) is split over all planned looks (Bonferroni): the chance
    of any wrong verdict over the whole sequential measurement stays at or below 1 - confidence.
    """

    q: float
    confidence: float
    budget_ms: float | None
    min_samples: int
    max_samples: int
    target_rel_width: float
    growth: float = 2.0

    @classmethod
    def for_profile(cls, profile: Any) -> StoppingRule:
        """The rule a HardwareProfile asks for; upstream stages' latency comes off the budget."""
        b, m = profile.budget, profile.measure
        upstream = sum(stage.latency_ms for stage in profile.upstream)
        budget_ms = b.latency_ms - upstream if b.latency_ms is not None else None
        return cls(b.quantile, m.confidence, budget_ms, m.min_samples, m.max_samples, m.target_rel_width)

    def _schedule(self, first: int, stop: int) -> list[int]:
        """Geometric counts from first, up to (and including) stop."""
        counts = [min(first, stop)]
        while counts[-1] < stop:
            counts.append(min(stop, math.ceil(counts[-1] * self.growth)))
        return counts

    @functools.cached_property
    def _plan(self) -> tuple[list[int], float]:
        """(looks, alpha per look).

        Looks start at min_samples, where only a clearly-over-budget candidate can be decided (a lower
        bound exists with few samples), and include the first count at which a pass can be decided
        (an upper bound exists), then grow geometrically to max_samples. The error budget is split
        evenly over all looks; since the pass count depends on that split, iterate to a fixed point
        where the split covers every look.
        """
        k = 1
        for _ in range(20):
            alpha = (1 - self.confidence) / k
            n_pass = min(max(self.min_samples, min_samples_to_decide(self.q, 1 - alpha)), self.max_samples)
            early = self._schedule(self.min_samples, n_pass)[:-1] if self.min_samples < n_pass else []
            looks = early + self._schedule(n_pass, self.max_samples)
            if len(looks) <= k:
                return looks, alpha
            k = len(looks)
        return looks, (1 - self.confidence) / len(looks)

    @property
    def alpha_per_look(self) -> float:
        return self._plan[1]

    @property
    def looks(self) -> list[int]:
        """Sample counts at which to check, increasing, the last being max_samples."""
        return self._plan[0]

    @property
    def first_pass_look(self) -> int:
        """The first look at which an upper bound (hence a 'pass') can exist."""
        need = min_samples_to_decide(self.q, 1 - self.alpha_per_look)
        return next((n for n in self.looks if n >= need), self.looks[-1])

    def check(self, samples_ms: np.ndarray) -> tuple[bool, Decision, str]:
        """(stop?, decision, why) for the samples so far; call only at a look."""
        ordered = np.sort(samples_ms)
        decision = decide(ordered, self.q, self.budget_ms, self.alpha_per_look)
        if self.budget_ms is not None and decision.verdict != "undecided":
            return True, decision, "verdict decided"
        if self.budget_ms is None and _rel_width(decision, ordered, self.q) <= self.target_rel_width:
            return True, decision, "bound within target width"
        if len(ordered) >= self.max_samples:
            return True, decision, "max samples reached"
        return False, decision, ""


def _rel_width(decision: Decision, ordered: np.ndarray, q: float) -> float:
    estimate = float(np.quantile(ordered, q))
    if not math.isfinite(decision.upper_ms) or not math.isfinite(decision.lower_ms) or estimate <= 0:
        return math.inf
    return (decision.upper_ms - decision.lower_ms) / estimate


def summarize(samples_ms: list[float] | np.ndarray) -> dict[str, float]:
    """Derived statistics of raw latency samples (ms). The samples are always kept beside them."""
    arr = np.asarray(samples_ms, dtype=np.float64)
    if arr.size == 0:
        return {}
    q25, q75 = np.quantile(arr, [0.25, 0.75])
    out = {name: float(np.quantile(arr, q)) for name, q in REPORTED_PERCENTILES.items()}
    out.update(
        mean=float(arr.mean()),
        std=float(arr.std()),
        min=float(arr.min()),
        max=float(arr.max()),
        iqr=float(q75 - q25),
        n=int(arr.size),
    )
    out["iqr_over_median"] = out["iqr"] / out["p50"] if out["p50"] > 0 else math.inf
    return out


def is_unstable(summary: dict[str, float]) -> bool:
    return summary.get("iqr_over_median", 0.0) > UNSTABLE_IQR_RATIO
