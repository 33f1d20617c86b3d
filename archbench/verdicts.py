"""One decision function per kind of verdict, used by the stopping rule, pareto, gate and the sweep.

Pure: no torch, no numpy. Every verdict is "pass", "fail" or "undecided", decided on confidence bounds:
a ceiling (latency, memory) passes when the upper bound fits and fails when the lower bound does not;
a floor (accuracy) passes when the lower bound reaches it and fails when the upper bound is below it.
"""

from __future__ import annotations

import math
from typing import Any

from archbench import fmt
from archbench.result import BudgetVerdict


def upstream_latency_ms(profile: Any) -> float:
    """Latency spent by the pipeline stages before the model (e.g. OCR)."""
    return sum(stage.latency_ms for stage in profile.upstream)


def latency_limit_ms(profile: Any) -> float | None:
    """The model's share of the latency budget: the budget minus the upstream stages (None: no budget)."""
    b = profile.budget
    return None if b.latency_ms is None else b.latency_ms - upstream_latency_ms(profile)


def ceiling_status(lower: float, upper: float, limit: float | None) -> str:
    """A quantity that must stay at or below limit, known to lie in [lower, upper]."""
    if limit is None or upper <= limit:
        return "pass"
    return "fail" if lower > limit else "undecided"


def floor_status(lower: float, upper: float, limit: float) -> str:
    """A quantity that must reach limit, known to lie in [lower, upper]."""
    if lower >= limit:
        return "pass"
    return "fail" if upper < limit else "undecided"


def latency_verdict(percentile: str, estimate_ms: float | None, lower_ms: float | None, upper_ms: float | None,
                    limit_ms: float, upstream_ms: float = 0.0, basis: str = "") -> BudgetVerdict:  # fmt: skip
    """The latency budget verdict: on the confidence bounds of the percentile, against limit_ms (the
    budget minus upstream_ms). Without bounds (lower_ms/upper_ms None) it falls back to the point
    estimate and says so."""
    name = f"latency_{percentile}_ms"
    upstream = f"{upstream_ms:g} ms spent upstream" if upstream_ms else ""
    if estimate_ms is None:
        return BudgetVerdict(name, "undecided", None, limit_ms, math.inf, "not measured")
    if limit_ms <= 0:
        return BudgetVerdict(name, "fail", estimate_ms, limit_ms, estimate_ms - limit_ms,
                             "upstream stages use the whole budget")  # fmt: skip
    if lower_ms is None or upper_ms is None:
        status = "pass" if estimate_ms <= limit_ms else "fail"
        return BudgetVerdict(name, status, estimate_ms, limit_ms, estimate_ms - limit_ms,
                             "point estimate (no confidence bound)")  # fmt: skip
    status = ceiling_status(lower_ms, upper_ms, limit_ms)
    bound = f"{percentile} in [{fmt.num(lower_ms, 4)}, {fmt.num(upper_ms, 4)}] ms"
    return BudgetVerdict(name, status, estimate_ms, limit_ms, estimate_ms - limit_ms,
                         "; ".join(filter(None, [bound, basis, upstream])))  # fmt: skip


def floor_verdict(name: str, value: float | None, limit: float, low: float | None = None, high: float | None = None,
                  detail: str = "") -> BudgetVerdict:  # fmt: skip
    """A floor (min_accuracy, slice accuracy, throughput) decided on [low, high] when an interval is
    known, else on the value itself. Not measured is a fail: a floor cannot be shown to hold."""
    if value is None:
        return BudgetVerdict(name, "fail", None, limit, math.inf, detail or "not measured")
    if low is None or high is None:
        status = "pass" if value >= limit else "fail"
        return BudgetVerdict(name, status, value, limit, limit - value, detail)
    status = floor_status(low, high, limit)
    interval = f"in [{fmt.num(low, 4)}, {fmt.num(high, 4)}]"  # positional: no 7.3e+05 for a throughput
    return BudgetVerdict(name, status, value, limit, limit - value, "; ".join(filter(None, [interval, detail])))


def ceiling_verdict(name: str, value: float | None, limit: float, detail: str = "") -> BudgetVerdict:
    """A ceiling measured without sampling error (memory high-water mark, model size)."""
    if value is None:
        return BudgetVerdict(name, "undecided", None, limit, math.inf, detail or "not measured")
    return BudgetVerdict(name, "pass" if value <= limit else "fail", value, limit, value - limit, detail)
