"""The plain data one measurement produces. Versioned with archbench.SCHEMA_VERSION; no torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any


@dataclass
class BudgetVerdict:
    """One budget checked against one result. constraint <= 0 means satisfied (Optuna's convention)."""

    budget: str  # "latency_p95_ms", "memory_mb", "min_accuracy", "slice_accuracy[long]", ...
    status: str  # "pass" | "fail" | "undecided"
    value: float | None
    limit: float
    constraint: float  # signed distance: value - limit for ceilings, limit - value for floors
    detail: str = ""

    @property
    def relative_excess(self) -> float:
        return self.constraint / self.limit if self.limit > 0 else float("inf")


@dataclass
class LatencyDecision:
    percentile: str
    estimate_ms: float
    lower_ms: float  # one-sided lower confidence bound on the true percentile
    upper_ms: float  # one-sided upper confidence bound
    confidence: float  # the overall confidence asked for
    alpha_per_look: float  # error spent at each look of the adaptive stopping rule
    stop_reason: str


@dataclass
class Result:
    candidate: str
    variant: str
    profile: str
    status: str = "ok"  # "ok" | "failed" | "skipped"
    error: str | None = None
    accuracy: float | None = None  # the task metric's value (named by `metric`)
    metric: str = "accuracy"  # "accuracy" | "balanced_accuracy" | "macro_f1"
    accuracy_interval: list[float] | None = None  # [low, high], each end one-sided at the profile's confidence
    predictions: list[int] = field(default_factory=list)  # test-set predicted class per sample, in test order
    pipeline_accuracy: float | None = None  # accuracy × upstream stages' accuracies
    slice_accuracy: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> {accuracy, n, low, high}
    latency: dict[str, float] = field(default_factory=dict)  # derived from latency_samples_ms
    latency_samples_ms: list[float] = field(default_factory=list)
    latency_decision: LatencyDecision | None = None
    stage_latency_ms: dict[str, float] = field(default_factory=dict)  # e.g. tokenizer p50
    throughput: float | None = None  # items per second at the profile's batch size
    throughput_interval: list[float] | None = None  # [low, high], each end one-sided at the profile's confidence
    memory: dict[str, float] = field(default_factory=dict)
    model_mb: float | None = None
    params: int | None = None
    timings: dict[str, float] = field(default_factory=dict)  # train_s, export_s, measure_s
    unstable: bool = False
    # Host interference (measure/interference.py): how much slower than its fastest the core ran during
    # the measurement (1.0 = quiet), and whether that stayed above the threshold after re-measuring.
    host_slowdown: float | None = None
    disturbed: bool = False
    verdicts: list[BudgetVerdict] = field(default_factory=list)
    feasibility: str = "unknown"  # "feasible" | "infeasible" | "undecided" | "failed" | "skipped"
    on_front: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.candidate, self.variant, self.profile)

    @property
    def peak_memory_mb(self) -> float | None:
        """GPU memory on cuda profiles (the scarce one there), else the process's peak RSS in inference."""
        gpu = self.memory.get("gpu_peak_mb")
        return gpu if gpu is not None else self.memory.get("peak_rss_mb")

    def latency_at(self, percentile: str) -> float | None:
        return self.latency.get(percentile)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["verdicts"] = [BudgetVerdict(**v) for v in kwargs.get("verdicts", [])]
        if kwargs.get("latency_decision"):
            kwargs["latency_decision"] = LatencyDecision(**kwargs["latency_decision"])
        return cls(**kwargs)

    @classmethod
    def failed(cls, candidate: str, variant: str, profile: str, error: str, **extra: Any) -> Result:
        return cls(candidate, variant, profile, status="failed", error=error, feasibility="failed", **extra)
