"""Budgets -> verdicts, and the Pareto front of feasible results. Pure: no torch, no numpy needed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from archbench.config import HardwareProfile
from archbench.result import BudgetVerdict, Result
from archbench.verdicts import (
    ceiling_verdict,
    floor_verdict,
    latency_limit_ms,
    latency_verdict,
    upstream_latency_ms,
)

__all__ = ["upstream_latency_ms"]  # re-exported: report.py and the sweep read it from here


def upstream_accuracy(profile: HardwareProfile) -> float:
    acc = 1.0
    for stage in profile.upstream:
        acc *= stage.accuracy
    return acc


def accuracy_bounds(result: Result, profile: HardwareProfile) -> tuple[float | None, float | None]:
    """The interval on the (pipeline) accuracy, or (None, None) when the result carries none."""
    if not result.accuracy_interval:
        return None, None
    low, high = result.accuracy_interval
    scale = upstream_accuracy(profile) if profile.upstream else 1.0  # upstream accuracies are given, not measured
    return low * scale, high * scale


def check_budgets(result: Result, profile: HardwareProfile) -> list[BudgetVerdict]:
    """Every budget of the profile checked against one measured result."""
    b = profile.budget
    out: list[BudgetVerdict] = []
    if b.latency_ms is not None:
        out.append(_latency_verdict(result, profile))
    if b.memory_mb is not None:
        out.append(ceiling_verdict("memory_mb", result.peak_memory_mb, b.memory_mb))
    if b.min_accuracy is not None:
        acc = result.pipeline_accuracy if profile.upstream else result.accuracy
        detail = f"upstream stages cap accuracy at {upstream_accuracy(profile):.3f}" if profile.upstream else ""
        low, high = accuracy_bounds(result, profile)
        out.append(floor_verdict("min_accuracy", acc, b.min_accuracy, low, high, detail))
    if b.max_model_mb is not None:
        out.append(ceiling_verdict("max_model_mb", result.model_mb, b.max_model_mb))
    if b.min_throughput is not None:
        low, high = result.throughput_interval or (None, None)
        basis = result.meta.get("throughput_basis") or ""
        out.append(floor_verdict("min_throughput", result.throughput, b.min_throughput, low, high, basis))
    for name, limit in sorted(b.min_slice_accuracy.items()):
        slice_ = result.slice_accuracy.get(name)
        value = slice_["accuracy"] if slice_ else None
        low, high = (slice_.get("low"), slice_.get("high")) if slice_ else (None, None)
        detail = f"n={slice_['n']:g}" if slice_ and "n" in slice_ else ("" if slice_ else f"no slice {name!r}")
        out.append(floor_verdict(f"slice_accuracy[{name}]", value, limit, low, high, detail))
    return out


def _latency_verdict(result: Result, profile: HardwareProfile) -> BudgetVerdict:
    """Decided on the confidence bounds: pass only when the upper bound fits, fail when the lower doesn't."""
    b = profile.budget
    d = result.latency_decision
    lower, upper = (d.lower_ms, d.upper_ms) if d is not None else (None, None)
    processes = len(result.meta.get("process_bounds_ms") or [])
    basis = f"covers each of {processes} processes' own bounds" if processes else ""
    return latency_verdict(b.percentile, result.latency_at(b.percentile), lower, upper,
                           latency_limit_ms(profile), upstream_latency_ms(profile), basis)  # type: ignore[arg-type]  # fmt: skip


def feasibility(verdicts: Sequence[BudgetVerdict]) -> str:
    statuses = {v.status for v in verdicts}
    if "fail" in statuses:
        return "infeasible"
    if "undecided" in statuses:
        return "undecided"
    return "feasible"


def objectives(result: Result, profile: HardwareProfile) -> tuple[float, float, float]:
    """Minimisation objectives: (-accuracy, latency at the budget's percentile, peak memory)."""
    acc = result.pipeline_accuracy if profile.upstream else result.accuracy
    latency = result.latency_at(profile.budget.percentile)
    memory = result.peak_memory_mb
    inf = float("inf")
    return (-(acc or 0.0), latency if latency is not None else inf, memory if memory is not None else inf)


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a dominates b: no worse on every objective and strictly better on one (all minimised)."""
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(x < y for x, y in zip(a, b, strict=True))


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points (minimisation). O(n^2): candidate sets are small."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]


def latency_bounds(result: Result, profile: HardwareProfile) -> tuple[float, float]:
    """Confidence bounds on the budgeted percentile; the point estimate twice when none were recorded."""
    estimate = result.latency_at(profile.budget.percentile)
    d = result.latency_decision
    if estimate is None:
        return float("inf"), float("inf")
    if d is None or d.percentile != profile.budget.percentile:
        return estimate, estimate
    return d.lower_ms, d.upper_ms


def accuracy_order(a: Result, b: Result, profile: HardwareProfile, y_true: Sequence[int] | None = None) -> int:
    """+1 when a is surely more accurate than b, -1 when surely less, 0 when the measurement cannot tell.

    With y_true and both results' predictions on that test set: McNemar's exact test on the paired
    correctness, one-sided at the profile's confidence (a surely better only when the test says so).
    Otherwise the point values are compared (the pre-interval behaviour), equal values giving 0.
    """
    n = len(y_true) if y_true is not None else 0
    if n and len(a.predictions) == n and len(b.predictions) == n:
        import numpy as np

        from archbench.measure.accuracy import mcnemar_exact

        truth = np.asarray(y_true)
        test = mcnemar_exact(np.asarray(a.predictions) == truth, np.asarray(b.predictions) == truth)
        alpha = 1 - profile.measure.confidence
        return 1 if test["p_a_better"] <= alpha else (-1 if test["p_b_better"] <= alpha else 0)
    acc_a, acc_b = -objectives(a, profile)[0], -objectives(b, profile)[0]
    return (acc_a > acc_b) - (acc_a < acc_b)


def surely_dominates(a: Result, b: Result, profile: HardwareProfile, y_true: Sequence[int] | None = None) -> bool:
    """a dominates b, with latency compared on confidence bounds rather than point estimates.

    a must be surely no slower (its upper bound at or below b's lower bound): two candidates whose
    latency intervals overlap cannot be ordered by this measurement, so neither pushes the other off
    the front. Without this, which of two near-equal candidates made the front would flip between
    repeated sweeps with the noise. Accuracy is ordered by McNemar's exact test on the two models'
    predictions when y_true is given (see accuracy_order): a difference the test set cannot resolve
    orders nothing. Memory is compared as measured.
    """
    _, _, mem_a = objectives(a, profile)
    _, _, mem_b = objectives(b, profile)
    _, up_a = latency_bounds(a, profile)
    low_b, _ = latency_bounds(b, profile)
    acc = accuracy_order(a, b, profile, y_true)
    paired = y_true is not None and len(a.predictions) == len(b.predictions) == len(y_true) > 0
    # paired: a must be surely better or not surely worse; "not ordered" counts as tied (no worse, not better)
    no_worse = acc >= 0 and mem_a <= mem_b and up_a <= low_b
    better = acc > 0 or mem_a < mem_b or up_a < low_b
    if paired and acc == 0:
        # tied within the test's resolution: a may still dominate through latency or memory alone,
        # but only if its point accuracy is not lower (no trading a measurable-looking drop for speed)
        no_worse = no_worse and -objectives(a, profile)[0] >= -objectives(b, profile)[0]
    return no_worse and better


def evaluate(results: Iterable[Result], profiles: dict[str, HardwareProfile],
             y_true: Sequence[int] | None = None) -> list[Result]:  # fmt: skip
    """Attach budget verdicts, feasibility and front membership to every result, in place.

    y_true: the test set's labels, in the order of every result's `predictions`; with it, accuracy on
    the front is compared by McNemar's exact test instead of point values.
    """
    results = list(results)
    for r in results:
        r.on_front = False
        if r.status != "ok":
            r.verdicts, r.feasibility = [], "failed" if r.status == "failed" else "skipped"
            continue
        r.verdicts = check_budgets(r, profiles[r.profile])
        r.feasibility = feasibility(r.verdicts)
    for name, profile in profiles.items():
        feasible = [r for r in results if r.profile == name and r.feasibility == "feasible"]
        for r in feasible:
            r.on_front = not any(surely_dominates(o, r, profile, y_true) for o in feasible if o is not r)
    return results


def front(results: Iterable[Result], profile: str) -> list[Result]:
    return sorted((r for r in results if r.profile == profile and r.on_front), key=lambda r: -(r.accuracy or 0))


def undecided_advice(results: Iterable[Result]) -> str:
    """What would decide an undecided verdict: with repeats, processes that disagree need more processes."""
    if any(len(r.meta.get("process_bounds_ms") or []) > 1 for r in results):
        return "more processes or samples, or a looser confidence"
    return "more samples or a looser confidence"


def why_nothing_feasible(results: Iterable[Result], profile: str) -> str:
    """Name the budget that excluded the most candidates on a profile whose front is empty."""
    ours = [r for r in results if r.profile == profile]
    measured = [r for r in ours if r.status == "ok"]
    if not measured:
        return f"no candidate was measured on {profile} ({len(ours)} failed or skipped)"
    broken = Counter(v.budget for r in measured for v in r.verdicts if v.status == "fail")
    undecided = sum(r.feasibility == "undecided" for r in measured)
    if not broken:
        return f"no feasible result on {profile}: {undecided} undecided ({undecided_advice(measured)})"
    budget, count = broken.most_common(1)[0]
    return f"no feasible result on {profile}: {budget} excluded {count} of {len(measured)} measured results"


def latency_unordered(results: Iterable[Result], profile: HardwareProfile,
                      y_true: Sequence[int] | None = None) -> list[tuple[Result, Result]]:  # fmt: skip
    """Pairs (a, b) of feasible results where a would push b off the front if their latency could be
    ordered — a is no worse on accuracy and memory and faster at the point estimate — but the latency
    intervals overlap. More samples can decide these; nothing else can (see the sweep's racing)."""
    feasible = [r for r in results if r.profile == profile.name and r.feasibility == "feasible"]
    pairs = []
    for a in feasible:
        for b in feasible:
            if a is b or surely_dominates(a, b, profile, y_true):
                continue
            (_, up_a), (low_b, _) = latency_bounds(a, profile), latency_bounds(b, profile)
            (_, est_a, mem_a), (_, est_b, mem_b) = objectives(a, profile), objectives(b, profile)
            no_worse = accuracy_order(a, b, profile, y_true) >= 0 and mem_a <= mem_b
            if no_worse and est_a < est_b and up_a > low_b:
                pairs.append((a, b))
    return pairs
