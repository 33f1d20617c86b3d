"""Budgets -> verdicts, and the Pareto front of feasible results. Pure: no torch, no numpy needed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from archbench.config import HardwareProfile
from archbench.result import BudgetVerdict, Result


def _ceiling(name: str, value: float | None, limit: float, detail: str = "") -> BudgetVerdict:
    if value is None:
        return BudgetVerdict(name, "undecided", None, limit, float("inf"), detail or "not measured")
    return BudgetVerdict(name, "pass" if value <= limit else "fail", value, limit, value - limit, detail)


def _floor(name: str, value: float | None, limit: float, detail: str = "") -> BudgetVerdict:
    if value is None:
        return BudgetVerdict(name, "fail", None, limit, float("inf"), detail or "not measured")
    return BudgetVerdict(name, "pass" if value >= limit else "fail", value, limit, limit - value, detail)


def upstream_latency_ms(profile: HardwareProfile) -> float:
    return sum(stage.latency_ms for stage in profile.upstream)


def upstream_accuracy(profile: HardwareProfile) -> float:
    acc = 1.0
    for stage in profile.upstream:
        acc *= stage.accuracy
    return acc


def check_budgets(result: Result, profile: HardwareProfile) -> list[BudgetVerdict]:
    """Every budget of the profile checked against one measured result."""
    b = profile.budget
    out: list[BudgetVerdict] = []
    if b.latency_ms is not None:
        out.append(_latency_verdict(result, profile))
    if b.memory_mb is not None:
        out.append(_ceiling("memory_mb", result.peak_memory_mb, b.memory_mb))
    if b.min_accuracy is not None:
        acc = result.pipeline_accuracy if profile.upstream else result.accuracy
        detail = f"upstream stages cap accuracy at {upstream_accuracy(profile):.3f}" if profile.upstream else ""
        out.append(_floor("min_accuracy", acc, b.min_accuracy, detail))
    if b.max_model_mb is not None:
        out.append(_ceiling("max_model_mb", result.model_mb, b.max_model_mb))
    if b.min_throughput is not None:
        out.append(_floor("min_throughput", result.throughput, b.min_throughput))
    for name, limit in sorted(b.min_slice_accuracy.items()):
        slice_ = result.slice_accuracy.get(name)
        value = slice_["accuracy"] if slice_ else None
        out.append(_floor(f"slice_accuracy[{name}]", value, limit, "" if slice_ else f"no slice {name!r}"))
    return out


def _latency_verdict(result: Result, profile: HardwareProfile) -> BudgetVerdict:
    """Decided on the confidence bounds: pass only when the upper bound fits, fail when the lower doesn't."""
    b = profile.budget
    upstream = upstream_latency_ms(profile)
    limit = b.latency_ms - upstream  # type: ignore[operator]
    name = f"latency_{b.percentile}_ms"
    decision = result.latency_decision
    estimate = result.latency_at(b.percentile)
    detail = f"{upstream:g} ms spent upstream" if upstream else ""
    if estimate is None:
        return BudgetVerdict(name, "undecided", None, limit, float("inf"), "not measured")
    if limit <= 0:
        return BudgetVerdict(name, "fail", estimate, limit, estimate - limit, "upstream stages use the whole budget")
    if decision is None:  # no bounds recorded: fall back to the point estimate, and say so
        verdict = _ceiling(name, estimate, limit, "point estimate (no confidence bound)")
        return verdict
    if decision.upper_ms <= limit:
        status = "pass"
    elif decision.lower_ms > limit:
        status = "fail"
    else:
        status = "undecided"
    bound = f"{b.percentile} in [{decision.lower_ms:.4g}, {decision.upper_ms:.4g}] ms"
    return BudgetVerdict(name, status, estimate, limit, estimate - limit, "; ".join(filter(None, [bound, detail])))


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


def surely_dominates(a: Result, b: Result, profile: HardwareProfile) -> bool:
    """a dominates b, with latency compared on confidence bounds rather than point estimates.

    a must be surely no slower (its upper bound at or below b's lower bound): two candidates whose
    latency intervals overlap cannot be ordered by this measurement, so neither pushes the other off
    the front. Without this, which of two near-equal candidates made the front would flip between
    repeated sweeps with the noise. Accuracy and memory are compared as measured.
    """
    acc_a, _, mem_a = objectives(a, profile)
    acc_b, _, mem_b = objectives(b, profile)
    _, up_a = latency_bounds(a, profile)
    low_b, _ = latency_bounds(b, profile)
    no_worse = acc_a <= acc_b and mem_a <= mem_b and up_a <= low_b
    better = acc_a < acc_b or mem_a < mem_b or up_a < low_b
    return no_worse and better


def evaluate(results: Iterable[Result], profiles: dict[str, HardwareProfile]) -> list[Result]:
    """Attach budget verdicts, feasibility and front membership to every result, in place."""
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
            r.on_front = not any(surely_dominates(other, r, profile) for other in feasible if other is not r)
    return results


def front(results: Iterable[Result], profile: str) -> list[Result]:
    return sorted((r for r in results if r.profile == profile and r.on_front), key=lambda r: -(r.accuracy or 0))


def why_nothing_feasible(results: Iterable[Result], profile: str) -> str:
    """Name the budget that excluded the most candidates on a profile whose front is empty."""
    ours = [r for r in results if r.profile == profile]
    measured = [r for r in ours if r.status == "ok"]
    if not measured:
        return f"no candidate was measured on {profile} ({len(ours)} failed or skipped)"
    broken = Counter(v.budget for r in measured for v in r.verdicts if v.status == "fail")
    undecided = sum(r.feasibility == "undecided" for r in measured)
    if not broken:
        return f"no feasible result on {profile}: {undecided} undecided (more samples or a looser confidence)"
    budget, count = broken.most_common(1)[0]
    return f"no feasible result on {profile}: {budget} excluded {count} of {len(measured)} measured results"
