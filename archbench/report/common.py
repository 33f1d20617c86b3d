"""What every report format shares: labels, profile order, skipped profiles, the budget line, cells."""

from __future__ import annotations

import math
from collections.abc import Sequence

from archbench import fmt
from archbench.config import HardwareProfile
from archbench.pareto import upstream_latency_ms
from archbench.result import BudgetVerdict, Result


def label(r: Result) -> str:
    return f"{r.candidate}/{r.variant}"


def profile_names(results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> list[str]:
    """Profiles in the caller's order, then any profile a result names that the caller did not pass."""
    names = list(profiles)
    names += [p for p in dict.fromkeys(r.profile for r in results) if p not in profiles]
    return names


def skipped_profiles(results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> dict[str, str]:
    """{profile: why} for each profile whose every result was skipped (e.g. no CUDA on this machine)."""
    out = {}
    for name in profile_names(results, profiles):
        ours = [r for r in results if r.profile == name]
        if ours and all(r.status == "skipped" for r in ours):
            out[name] = (ours[0].error or "skipped").removeprefix("profile skipped: ")
    return out


def metric_name(results: Sequence[Result]) -> str:
    """The task metric the results' accuracy figures hold (one per run): it heads columns and axes."""
    names = {getattr(r, "metric", None) or "accuracy" for r in results}
    return names.pop() if len(names) == 1 else "accuracy"


def accuracy_of(r: Result, profile: HardwareProfile | None) -> float | None:
    """The accuracy budgets and the front use: the pipeline's when upstream stages exist."""
    return r.pipeline_accuracy if profile is not None and profile.upstream else r.accuracy


def accuracy_interval(r: Result) -> tuple[float, float] | None:
    """The accuracy confidence interval [low, high] when the result carries one (older files do not)."""
    ci = getattr(r, "accuracy_interval", None)
    if not ci or len(ci) != 2 or ci[0] is None or ci[1] is None:
        return None
    return float(ci[0]), float(ci[1])


def percentile_bounds(r: Result, percentile: str | None) -> tuple[float | None, float | None]:
    d = r.latency_decision
    if d is None or percentile is None or d.percentile != percentile:
        return None, None
    return d.lower_ms, d.upper_ms


def latency_cell(r: Result, percentile: str) -> str:
    """'0.022 [0.021, 0.026]': the estimate at the budget percentile and its confidence bounds (ms)."""
    est = r.latency_at(percentile)
    if est is None:
        return fmt.MISSING
    lower, upper = percentile_bounds(r, percentile)
    if lower is None or upper is None:
        return fmt.num(est)
    return f"{fmt.num(est)} {fmt.interval(lower, upper)}"


def throughput_cell(r: Result) -> str:
    """'45.2k [41k, 49.8k]': items/s and its interval (the upper end may be unbounded: 'inf')."""
    if r.throughput is None:
        return fmt.MISSING
    if not r.throughput_interval:
        return fmt.si(r.throughput)
    low, high = r.throughput_interval
    return f"{fmt.si(r.throughput)} [{fmt.si(low)}, {fmt.si(high)}]"


def budget_line(profile: HardwareProfile, metric: str = "accuracy") -> str:
    """All budgets of a profile on one line, e.g. 'latency p95 ≤ 10 ms · memory ≤ 200 MB'.

    metric: the task metric min_accuracy and slice floors are judged on (it names them).
    """
    b = profile.budget
    parts = []
    if b.latency_ms is not None:
        up = upstream_latency_ms(profile)
        extra = f" ({fmt.num(b.latency_ms - up)} ms left after {fmt.num(up)} ms upstream)" if up else ""
        parts.append(f"latency {b.percentile} ≤ {fmt.num(b.latency_ms)} ms{extra}")
    if b.memory_mb is not None:
        parts.append(f"memory ≤ {fmt.mb(b.memory_mb)}")
    if b.min_accuracy is not None:
        parts.append(f"{'pipeline ' if profile.upstream else ''}{metric} ≥ {fmt.num(b.min_accuracy)}")
    if b.max_model_mb is not None:
        parts.append(f"model ≤ {fmt.mb(b.max_model_mb)}")
    if b.min_throughput is not None:
        parts.append(f"throughput ≥ {fmt.rate(b.min_throughput)}")
    for name, limit in sorted(b.min_slice_accuracy.items()):
        parts.append(f"slice {name} {metric} ≥ {fmt.num(limit)}")
    return " · ".join(parts) if parts else "none"


def profile_line(profile: HardwareProfile) -> str:
    """'cpu, 1 thread, batch 1'."""
    threads = f"{profile.threads} thread{'s' if profile.threads != 1 else ''}"
    return f"{profile.device}, {threads}, batch {profile.batch_size}"


def broken_budgets(r: Result) -> list[str]:
    """'latency_p95_ms 20 vs 10 (100% over)' for each budget the result fails."""
    return [f"{v.budget} {fmt.num(v.value)} vs {fmt.num(v.limit)} ({relative(v)})" for v in r.verdicts
            if v.status == "fail"]  # fmt: skip


def relative(v: BudgetVerdict) -> str:
    """How far a failed budget is missed: '100% over' for a ceiling, '38% short' for a floor."""
    rel = v.relative_excess
    if v.value is None or not math.isfinite(rel):
        return "not measured"
    return f"{fmt.percent(rel)} {'over' if v.value > v.limit else 'short'}"


def open_budgets(r: Result) -> list[str]:
    """'latency_p95_ms: p95 in [0.9, 1.2] ms' for each budget the result leaves undecided."""
    return [f"{v.budget}: {v.detail or 'not measured'}" for v in r.verdicts if v.status == "undecided"]


def run_queue_share(r: Result) -> float | None:
    """The largest share of a timing loop this result's timed threads spent waiting for a core."""
    shares = [s for s in r.meta.get("run_queue_share") or [] if s is not None]
    return max(shares) if shares else None


def disturbance(r: Result) -> str:
    """Why a result is flagged disturbed: a slowed core (probe), time-slicing (run-queue wait), or both."""
    why = []
    if r.host_slowdown is not None and r.host_slowdown > 1.0:
        why.append(f"the core ran {r.host_slowdown:.2f}x slower than its quietest")
    share = run_queue_share(r)
    if share:
        why.append(f"its timed threads waited for a core {share:.0%} of the loop")
    return " and ".join(why) or "the machine was busy"
