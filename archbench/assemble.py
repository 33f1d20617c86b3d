"""Assemble a Result from a job's typed payloads: pool the repeats' raw samples, derive every figure.

Pure (numpy only): the statistics are derived from raw data here, never stored instead of it. The
latency decision comes from the one decision function every verdict uses; accuracy comes from the
raw predictions and the task's labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from archbench.config import HardwareProfile
from archbench.jobs import BuildOutput, MeasurePayload
from archbench.measure import interference
from archbench.measure.throughput import ThroughputReading
from archbench.measure.throughput import estimate as throughput_estimate
from archbench.result import LatencyDecision, Result

MB = 1024 * 1024
Floors = dict[tuple[int, ...], float]


@dataclass(frozen=True)
class Labels:
    """What scoring needs of the task: the true labels, the slices and the metric."""

    y_test: np.ndarray
    slices: dict[str, np.ndarray]
    num_classes: int
    metric: str


def slowdown(profile: HardwareProfile, payload: MeasurePayload, floors: Floors) -> float:
    key = interference.floor_key(profile.cores)
    return interference.slowdown(payload.reference_us, floors.get(key)) or 1.0


def run_queue_share(profile: HardwareProfile, payload: MeasurePayload) -> float:
    """Share of the timing loop the timed threads spent waiting for a core (0 when unknown): the wait of
    all threads over the loop's time on the profile's thread count, at most 1."""
    rq = payload.run_queue
    if not rq.wait_ms or not rq.loop_ms:
        return 0.0
    return min(1.0, rq.wait_ms / (rq.loop_ms * max(1, profile.threads)))


def disturbed(profile: HardwareProfile, payload: MeasurePayload, floors: Floors) -> bool:
    """Measured on a slowed core, or while the timed threads waited for theirs (time-slicing)."""
    m = profile.measure
    return (bool(floors) and slowdown(profile, payload, floors) > m.interference_threshold) or (
        run_queue_share(profile, payload) > m.run_queue_threshold
    )


def build_timings(build: BuildOutput) -> dict[str, float]:
    return {k: float(v) for k, v in build.timings.items() if k in ("train_s", "export_s", "quantize_s")}


def assemble(candidate: str, variant: str, profile: HardwareProfile, build: BuildOutput,
             payloads: Sequence[MeasurePayload], floors: Floors, labels: Labels, spec_key: str) -> Result:  # fmt: skip
    from archbench.measure.stats import is_unstable, summarize
    from archbench.pareto import upstream_accuracy

    first = payloads[0]
    samples = [s for pl in payloads for s in pl.samples_ms]
    summary = summarize(samples)
    distinct = sum(pl.distinct_requests for pl in payloads) or None
    d = latency_decision(samples, profile, first.per_call_ms, distinct, first.fixed_samples)
    lower, upper, each = process_hull(d.lower_ms, d.upper_ms, payloads, profile)
    decision = LatencyDecision(profile.budget.percentile, summary.get(profile.budget.percentile, math.nan),
                               lower, upper, profile.measure.confidence, d.alpha_per_look,
                               "; ".join(sorted({pl.stop_reason for pl in payloads})))  # fmt: skip
    memory = first.memory.model_dump()
    memory["peak_rss_mb"] = max(pl.memory.peak_rss_mb or 0 for pl in payloads) or None
    memory["process_peak_mb"] = max(pl.memory.process_peak_mb or 0 for pl in payloads) or None
    memory = {k: v for k, v in memory.items() if v is not None}
    readings = [ThroughputReading(pl.throughput, pl.throughput_groups) for pl in payloads if pl.throughput]
    rate = throughput_estimate(readings, profile.measure.confidence)
    overall, per_slice = score_predictions(labels, first.predictions, profile.measure.confidence)
    acc = overall["value"]
    return Result(
        candidate, variant, profile.name,
        accuracy=acc,
        pipeline_accuracy=acc * upstream_accuracy(profile) if profile.upstream else None,
        slice_accuracy=per_slice,
        metric=labels.metric,
        accuracy_interval=[overall["low"], overall["high"]],
        predictions=list(first.predictions),
        latency=summary, latency_samples_ms=samples, latency_decision=decision,
        stage_latency_ms=first.stage_latency_ms,
        throughput=rate.value if rate else None,
        throughput_interval=[rate.low, rate.high] if rate and rate.low is not None else None,
        memory=memory, model_mb=first.model_bytes / MB, params=build.params,
        timings={
            **build_timings(build),
            # every child, start-up and discarded disturbed attempts included
            "measure_s": sum(pl.measure_wall_s + pl.discarded_wall_s for pl in payloads),
            "latency_loop_s": sum(pl.loop_wall_s for pl in payloads),  # the timing loops alone
        },
        unstable=is_unstable(summary),
        host_slowdown=max(slowdown(profile, pl, floors) for pl in payloads) if floors else None,
        disturbed=any(disturbed(profile, pl, floors) for pl in payloads),
        meta={
            "build_key": build.build_key, "measure_keys": [pl.measure_key for pl in payloads],
            "cached": all(pl.cached for pl in payloads), "repeats": len(payloads),
            "throughput_basis": rate.detail if rate else None,
            "process_bounds_ms": each,  # each process's own [lower, upper] on the budget percentile (repeats)
            "machine_state": [pl.machine_state for pl in payloads], "build_info": build.info,
            "padding_policy": first.padding_policy, "spec_key": spec_key,
            "measure_attempts": [pl.attempts for pl in payloads],
            "run_queue_share": [round(run_queue_share(profile, pl), 4) for pl in payloads],
            "involuntary_switches": [pl.run_queue.involuntary_switches for pl in payloads],
            "warmup_calls": [pl.warmup_calls for pl in payloads],
            "discarded_samples": [pl.discarded_samples for pl in payloads],
            "distinct_requests": distinct,
        },
    )  # fmt: skip


def process_hull(lower: float, upper: float, payloads: Sequence[MeasurePayload],
                 profile: HardwareProfile) -> tuple[float, float, list[list[float]]]:  # fmt: skip
    """With repeats, the latency bounds every process agrees on: the hull of the pooled bounds and each
    process's own. Pooling alone treats the processes' samples as one sample, but a process has its own
    speed (code layout, allocator state: 1.3-2x apart between fresh processes here), which the pooled
    bound cannot see. Over the hull a pass needs every process's upper bound within the budget, a fail
    every lower bound over it; processes that disagree leave it undecided. One process: unchanged."""
    if len(payloads) < 2:
        return lower, upper, []
    each = [latency_decision(pl.samples_ms, profile, pl.per_call_ms, pl.distinct_requests or None,
                             pl.fixed_samples) for pl in payloads]  # fmt: skip
    bounds = [[e.lower_ms, e.upper_ms] for e in each]
    return min([lower] + [b[0] for b in bounds]), max([upper] + [b[1] for b in bounds]), bounds


def latency_decision(samples: Sequence[float], profile: HardwareProfile, per_call_ms: float | None,
                     distinct_requests: int | None, fixed_samples: int | None = None) -> Any:  # fmt: skip
    """The decision the measuring child's stopping rule made, rebuilt from the raw samples.

    The same rule (the child's plan, rebuilt from the per-call time it planned with) decides; a fixed
    sample count is one look, with the whole error budget. A bound may not claim more independent
    requests than the pool they were drawn from: with more samples than distinct requests, the ranks
    are those of a sample as large as the pool (the bound widens accordingly).
    """
    from archbench.measure.stats import Decision, StoppingRule, quantile_bounds

    rule = StoppingRule.for_profile(profile, per_call_ms=per_call_ms)
    ordered = np.sort(np.asarray(samples, dtype=np.float64))
    n = len(ordered)
    fixed = fixed_samples or profile.measure.fixed_samples
    if fixed or (distinct_requests and n > distinct_requests):
        alpha = 1 - profile.measure.confidence if fixed else rule.alpha_per_look
        m = min(n, distinct_requests or n)
        # bounds for a sample of m independent requests, read off the full sample's quantiles
        lower, upper = quantile_bounds(np.quantile(ordered, (np.arange(m) + 0.5) / m), rule.q, alpha)
        from archbench.verdicts import ceiling_status

        return Decision(ceiling_status(lower, upper, rule.budget_ms), lower, upper, alpha)
    return rule.decide(ordered)


Scores = tuple[dict[str, Any], dict[str, Any]]


def score_predictions(labels: Labels, predictions: Sequence[int], confidence: float) -> Scores:
    """The task's metric overall and per slice, each with its confidence interval."""
    from archbench.measure.accuracy import score

    pred = np.asarray(predictions, dtype=np.int64)
    return score(labels.y_test, pred, labels.num_classes, labels.slices, labels.metric, confidence)
