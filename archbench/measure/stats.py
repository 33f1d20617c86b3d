"""Latency statistics and distribution-free percentile decisions. Pure: numpy only.

A latency budget is stated at a percentile (p95 < 10 ms). Whether a candidate meets it is decided on
order-statistic confidence bounds (binomial, like MLPerf LoadGen's early stopping), never on a point
estimate: the true p-quantile lies below the k-th smallest of n samples with a probability given by
the binomial CDF, whatever the latency distribution is.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
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
    return _verdict(lower, upper, budget_ms, alpha)


# MLPerf LoadGen's early-stopping figures at confidence 0.99, tolerance 0 (mlcommons/inference,
# loadgen/results.cc `PerformanceSummary::EarlyStopping`: confidence = 0.99, tolerance = 0.0; the count
# comes from loadgen/early_stopping.cc `MinPassingQueriesFinder`). SingleStream/MultiStream refuse to
# report before h_min(t=1) + 1 queries ("Need to process at least ... queries for early stopping"):
# 64 at p90, 662 at p99 (130 at p95 from the same formula). Server with no over-latency query needs
# h_min(t=0) = ceil(log(0.01) / log(p)) queries: 44 / 90 / 459, the floor of any valid one-look test.
LOADGEN_SINGLE_STREAM_MIN = {"p90": 64, "p95": 130, "p99": 662}
LOADGEN_SERVER_T0_MIN = {"p90": 44, "p95": 90, "p99": 459}
FIRST_PASS_SHARE = 0.5  # share of the pass-side error spent at the first look where a pass is possible


def binomial_pmf(n: int, p: float) -> np.ndarray:
    """P(Bin(n, p) = k) for k = 0..n, in log space (stable for large n)."""
    if n == 0:
        return np.ones(1)
    k = np.arange(n + 1, dtype=np.float64)
    log_comb = np.concatenate(([0.0], np.cumsum(np.log((n - k[1:] + 1) / k[1:]))))
    log_pmf = log_comb + k * math.log(p) + (n - k) * math.log1p(-p)
    pmf = np.exp(log_pmf - log_pmf.max())
    return pmf / pmf.sum()


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact direct convolution when small, FFT otherwise (absolute error ~1e-16, clipped at 0)."""
    if len(a) * len(b) <= 4_000_000:
        return np.convolve(a, b)
    size = len(a) + len(b) - 1
    nfft = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, nfft) * np.fft.rfft(b, nfft), nfft)[:size]
    return np.clip(out, 0.0, None)


@dataclass(frozen=True)
class LookPlan:
    """Thresholds of one look: pass when >= pass_count samples are within budget, fail when < fail_count.

    pass_count - 1 is the 0-based index of the upper bound's order statistic (n + 1: no upper bound);
    fail_count is the rank of the lower bound's order statistic (0: no lower bound). spent_pass and
    spent_fail are the exact cumulative worst-case error probabilities up to and including this look.
    """

    n: int
    pass_count: int
    fail_count: int
    spent_pass: float
    spent_fail: float


def sequential_error(looks: Sequence[int], pass_counts: Sequence[int], fail_counts: Sequence[int],
                     p: float) -> tuple[float, float]:  # fmt: skip
    """Exact P(stop with pass), P(stop with fail) of a sequential plan when P(sample within budget) = p.

    The verdict at each look depends only on X = the number of samples within budget, a binomial count
    process, so the probability is a dynamic programme over X (paths that stopped are removed). With
    p = q (the true quantile exactly at the budget) these are the worst cases over every latency
    distribution: raising p moves every path's count up, so P(pass) rises and P(fail) falls with p.
    """
    mass, lo, prev = np.ones(1), 0, 0  # mass[i] = P(not stopped, X = lo + i)
    total_pass = total_fail = 0.0
    for n, u, low in zip(looks, pass_counts, fail_counts, strict=True):
        mass = _convolve(mass, _trimmed_pmf(n - prev, p)[0])
        inc_lo = _trimmed_pmf(n - prev, p)[1]
        lo, prev = lo + inc_lo, n
        xs = lo + np.arange(len(mass))
        total_pass += float(mass[xs >= u].sum())
        total_fail += float(mass[xs < low].sum())
        keep = (xs >= low) & (xs < u)
        if not keep.any():
            return total_pass, total_fail
        first = int(np.argmax(keep))
        last = len(keep) - int(np.argmax(keep[::-1]))
        mass, lo = mass[first:last], lo + first
    return total_pass, total_fail


@functools.lru_cache(maxsize=256)
def _trimmed_pmf(m: int, p: float) -> tuple[np.ndarray, int]:
    """Bin(m, p) pmf without its negligible ends (< 1e-20 each), and the count of its first entry."""
    pmf = binomial_pmf(m, p)
    nz = np.nonzero(pmf >= 1e-20)[0]
    return pmf[nz[0] : nz[-1] + 1], int(nz[0])


@functools.lru_cache(maxsize=256)
def calibrate(q: float, confidence: float, looks: tuple[int, ...], first_pass_share: float = FIRST_PASS_SHARE,
              ) -> tuple[LookPlan, ...]:  # fmt: skip
    """Per-look rank thresholds whose exact worst-case error is <= 1 - confidence in each direction.

    Error is spent by a cumulative schedule, greedily and exactly (the DP of sequential_error run look
    by look): the fail side spreads its budget evenly over the looks; the pass side spends
    first_pass_share at the first look where a pass is possible and the rest evenly over later looks.
    A look that cannot use its share (no pass possible yet, or a discrete threshold that falls short)
    hands the rest on to later looks, so no error is spent where no verdict is possible.
    """
    alpha = 1 - confidence
    first_pass = next((i for i, n in enumerate(looks) if q**n <= first_pass_share * alpha), None)
    k = len(looks)
    mass, lo, prev = np.ones(1), 0, 0
    spent_pass = spent_fail = 0.0
    out = []
    for j, n in enumerate(looks):
        pmf, inc_lo = _trimmed_pmf(n - prev, q)
        mass, lo, prev = _convolve(mass, pmf), lo + inc_lo, n
        target_fail = alpha * (j + 1) / k
        if first_pass is None or j < first_pass:
            target_pass = 0.0
        elif j == first_pass:
            target_pass = first_pass_share * alpha if j < k - 1 else alpha
        else:
            target_pass = alpha * (first_pass_share + (1 - first_pass_share) * (j - first_pass) / (k - 1 - first_pass))
        # pass: smallest count u with spent + P(X >= u) <= target (u = lo + len(mass) + ... means none)
        tail = np.cumsum(mass[::-1])[::-1]  # tail[i] = P(X >= lo + i)
        ok = np.nonzero(spent_pass + tail <= target_pass * (1 + 1e-12))[0]
        u = lo + int(ok[0]) if len(ok) else n + 1  # n + 1: no pass possible at this look
        head = np.cumsum(mass)  # head[i] = P(X <= lo + i)
        okf = np.nonzero(spent_fail + head <= target_fail * (1 + 1e-12))[0]
        low = lo + int(okf[-1]) + 1 if len(okf) else 0  # fail when X < low
        low = min(low, u)
        xs = lo + np.arange(len(mass))
        spent_pass += float(mass[xs >= u].sum())
        spent_fail += float(mass[xs < low].sum())
        out.append(LookPlan(n, u, low, spent_pass, spent_fail))
        keep = (xs >= low) & (xs < u)
        if not keep.any():
            break
        first = int(np.argmax(keep))
        last = len(keep) - int(np.argmax(keep[::-1]))
        mass, lo = mass[first:last], lo + first
    return tuple(out)


@dataclass(frozen=True)
class StoppingRule:
    """When to stop timing: as soon as the budget verdict is certain, or the bound is tight enough.

    Looks happen at geometrically growing sample counts, from min_samples (enough to call a clearly
    over-budget candidate infeasible) through the fewest samples that can prove a pass, up to the most
    samples the time cap allows (max_seconds / per-call time, when the per-call time is known) or
    max_samples. At each look the verdict depends only on how many samples are within budget, so the
    rank thresholds of all looks are calibrated together by an exact computation (`calibrate`): the
    chance of a wrong verdict over the whole sequential measurement is at most 1 - confidence for every
    latency distribution, with no error spent on looks where a verdict is impossible. A pass then needs
    104 samples at p95 (LoadGen SingleStream: 130) and 528 at p99 (LoadGen: 662); see min_samples_to_pass.
    """

    q: float
    confidence: float
    budget_ms: float | None
    min_samples: int
    max_samples: int
    target_rel_width: float
    growth: float = 2.0
    per_call_ms: float | None = None  # measured after warm-up; with max_seconds it caps the plan
    max_seconds: float | None = None
    first_pass_share: float = FIRST_PASS_SHARE

    @classmethod
    def for_profile(cls, profile: Any, per_call_ms: float | None = None) -> StoppingRule:
        """The rule a HardwareProfile asks for; upstream stages' latency comes off the budget.

        per_call_ms: the per-call time measured after warm-up; the looks are then planned to end at the
        last count the time cap (measure.max_seconds) can reach, so no error is spent on looks the
        measurement would never get to.
        """
        from archbench.verdicts import latency_limit_ms

        b, m = profile.budget, profile.measure
        return cls(b.quantile, m.confidence, latency_limit_ms(profile), m.min_samples, m.max_samples,
                   m.target_rel_width, per_call_ms=per_call_ms, max_seconds=m.max_seconds)  # fmt: skip

    def _schedule(self, first: int, stop: int) -> list[int]:
        """Geometric counts from first, up to (and including) stop."""
        counts = [min(first, stop)]
        while counts[-1] < stop:
            counts.append(min(stop, math.ceil(counts[-1] * self.growth)))
        return counts

    @property
    def sample_cap(self) -> int:
        """max_samples, or fewer when the time cap at the measured per-call time reaches fewer."""
        if self.per_call_ms and self.max_seconds and self.per_call_ms > 0:
            reachable = int(self.max_seconds * 1000.0 / self.per_call_ms)
            return max(self.min_samples, min(self.max_samples, reachable))
        return self.max_samples

    @functools.cached_property
    def plan(self) -> tuple[LookPlan, ...]:
        """The calibrated looks: from min_samples, through the first count where a pass is possible."""
        cap = self.sample_cap
        n_pass = max(self.min_samples, min_samples_to_decide(self.q, 1 - self.first_pass_share * (1 - self.confidence)))
        n_pass = min(n_pass, cap)
        early = self._schedule(self.min_samples, n_pass)[:-1] if self.min_samples < n_pass else []
        looks = tuple(early + self._schedule(n_pass, cap))
        return calibrate(self.q, self.confidence, looks, self.first_pass_share)

    @property
    def looks(self) -> list[int]:
        """Sample counts at which to check, increasing, the last being the sample cap."""
        return [look.n for look in self.plan]

    @property
    def alpha_per_look(self) -> float:
        """A conservative per-look level (Bonferroni over the looks), for callers that decide pooled
        samples outside the plan; the plan's own looks use the exact thresholds of `plan`."""
        return (1 - self.confidence) / len(self.plan)

    @property
    def first_pass_look(self) -> int:
        """The first look at which a 'pass' can be decided (the last look when none can)."""
        return next((p.n for p in self.plan if p.pass_count <= p.n), self.plan[-1].n)

    @property
    def worst_case_error(self) -> tuple[float, float]:
        """Exact worst-case (P(wrong pass), P(wrong fail)) of the whole plan, each <= 1 - confidence."""
        return self.plan[-1].spent_pass, self.plan[-1].spent_fail

    def decide(self, samples_ms: np.ndarray) -> Decision:
        """The decision on these samples: the plan's thresholds at a look; between looks (a time cap cut
        the measurement short), one-sided bounds at the error the earlier looks left unspent."""
        ordered = np.sort(np.asarray(samples_ms, dtype=np.float64))
        n = len(ordered)
        look = next((p for p in self.plan if p.n == n), None)
        if look is not None:
            upper = float(ordered[look.pass_count - 1]) if look.pass_count <= n else math.inf
            lower = float(ordered[look.fail_count - 1]) if look.fail_count >= 1 else -math.inf
            level = self.alpha_per_look
        else:
            before = [p for p in self.plan if p.n < n]
            spent = max(before[-1].spent_pass, before[-1].spent_fail) if before else 0.0
            level = max(1 - self.confidence - spent, 1e-12)
            lower, upper = quantile_bounds(ordered, self.q, level)
        return _verdict(lower, upper, self.budget_ms, level)

    def check(self, samples_ms: np.ndarray) -> tuple[bool, Decision, str]:
        """(stop?, decision, why) for the samples so far; call at a look (or when the time cap hit)."""
        ordered = np.sort(np.asarray(samples_ms, dtype=np.float64))
        decision = self.decide(ordered)
        if self.budget_ms is not None and decision.verdict != "undecided":
            return True, decision, "verdict decided"
        if self.budget_ms is None and _rel_width(decision, ordered, self.q) <= self.target_rel_width:
            return True, decision, "bound within target width"
        if len(ordered) >= self.plan[-1].n:
            return True, decision, "max samples reached"
        return False, decision, ""


def _verdict(lower: float, upper: float, budget_ms: float | None, level: float) -> Decision:
    from archbench.verdicts import ceiling_status

    return Decision(ceiling_status(lower, upper, budget_ms), lower, upper, level)


def min_samples_to_pass(percentile: str | float = "p95", confidence: float = 0.99) -> int:
    """Fewest latency samples that can prove a percentile budget is met, under the default plan.

    The default plan is the StoppingRule of the default MeasureSettings (min_samples 20, max_samples
    20,000, looks doubling), calibrated exactly so that P(wrong verdict) <= 1 - confidence for every
    latency distribution. At confidence 0.99: p90 51, p95 104, p99 528 -- against MLPerf LoadGen's
    early-stopping minimum of 64 / 130 / 662 queries (LOADGEN_SINGLE_STREAM_MIN). Pure; imports no torch.
    """
    from archbench.config import PERCENTILES, MeasureSettings

    q = PERCENTILES[percentile] if isinstance(percentile, str) else float(percentile)
    m = MeasureSettings()
    rule = StoppingRule(q, confidence, 1.0, m.min_samples, m.max_samples, m.target_rel_width)
    return rule.first_pass_look


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
