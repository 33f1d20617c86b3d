"""The typed boundary between the sweep and its child processes.

A child receives a `BuildJob` or a `MeasureJob` and returns a `BuildOutput` or a `MeasurePayload`;
both sides validate, so a key typed wrong fails loudly at the boundary instead of surfacing later as
a missing dict entry. `JOB_SCHEMA` goes into every cache key: changing a model here invalidates
cached builds and measurements written with the old shape (and an old entry that no longer validates
is a cache miss, never a crash). `MEASURE_SCHEMA` goes into measurement keys only: a new payload field
re-measures, without retraining every cached build.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from archbench.config import HardwareProfile, TrainSettings

JOB_SCHEMA = 4
MEASURE_SCHEMA = 2  # 2: throughput_groups


class Message(BaseModel):
    # extra="forbid": a field one side writes and the other does not know is a bug, not data.
    model_config = ConfigDict(extra="forbid", frozen=False)


class BuildJob(Message):
    candidate: dict[str, Any]  # the candidate spec, as JSON data (the child re-validates it by kind)
    train: TrainSettings
    task_path: str
    out_dir: str
    variants: list[str]
    memory_headroom_mb: float


class BuildOutput(Message):
    artifacts: dict[str, str] = Field(default_factory=dict)  # name -> file: weights, onnx, int8 files, tokenizer
    variant_errors: dict[str, str] = Field(default_factory=dict)  # a variant that could not be produced, and why
    timings: dict[str, float] = Field(default_factory=dict)  # train_s, export_s, quantize_s, tokenizer_s
    params: int | None = None
    info: dict[str, Any] = Field(default_factory=dict)  # JSON-able facts for the report (exporter, diffs, ...)
    # filled in by the parent:
    build_key: str = ""
    build_wall_s: float = 0.0
    variants: list[str] = Field(default_factory=list)  # the variants this build was asked to produce
    error: str | None = None  # the whole build failed (no variant can be measured)


class MeasureJob(Message):
    variant: str
    build: BuildOutput
    candidate: dict[str, Any]
    profile: HardwareProfile
    task_path: str
    seed: int = 0
    memory_headroom_mb: float


class MemoryReading(Message):
    load_rss_mb: float | None = None  # after imports and model load
    peak_rss_mb: float | None = None  # VmHWM during inference (reset after load)
    hwm_reset: bool = False
    inference_added_mb: float | None = None
    process_peak_mb: float | None = None  # the whole child (wait4's ru_maxrss), filled in by the parent
    gpu_peak_mb: float | None = None
    gpu_peak_reserved_mb: float | None = None


class RunQueueWait(Message):
    """What the kernel says the timed thread waited for its core (schedstat, involuntary switches)."""

    wait_ms: float | None = None  # run-queue delay of the timing thread during the timing loop
    involuntary_switches: int | None = None
    loop_ms: float | None = None


class MeasurePayload(Message):
    samples_ms: list[float]
    stop_reason: str
    loop_wall_s: float
    memory: MemoryReading
    throughput: float | None = None  # items/s, calls back to back (measure/throughput.py)
    throughput_groups: list[float] = Field(default_factory=list)  # items/s of consecutive equal groups of calls
    predictions: list[int]  # predicted class of every test sample, in test order (metrics are derived)
    model_bytes: int
    machine_state: dict[str, Any] = Field(default_factory=dict)
    reference_us: list[float] = Field(default_factory=list)  # host-interference probe readings
    run_queue: RunQueueWait = Field(default_factory=RunQueueWait)
    stage_latency_ms: dict[str, float] = Field(default_factory=dict)
    padding_policy: str | None = None
    warmup_calls: int = 0
    per_call_ms: float | None = None  # after warm-up; the stopping rule planned its looks with it
    fixed_samples: int | None = None  # the child took a fixed count (no adaptive looks): one test, all the error
    discarded_samples: int = 0  # a drifting start of the timing loop, dropped (measure/loop.py)
    distinct_requests: int = 0  # how many different requests the timed calls were drawn from
    # filled in by the parent:
    measure_wall_s: float = 0.0
    measure_key: str = ""
    cached: bool = False
    attempts: int = 1
    discarded_wall_s: float = 0.0


def parse(model: type[Message], data: Any) -> Message | None:
    """Validate a child's (or the cache's) JSON; None when it does not fit the current schema."""
    from pydantic import ValidationError

    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "ok"}  # the child's success flag, read by the runner
    try:
        return model.model_validate(data)
    except ValidationError:
        return None
