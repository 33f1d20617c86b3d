"""A hardware profile: the device, threads, cores, batch size, budgets and how carefully to measure."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from archbench.config.base import PERCENTILES, Fraction, Frozen, PositiveFloat, SafeName


class Budget(Frozen):
    """What a deployment target tolerates. A missing field means no budget on it."""

    latency_ms: PositiveFloat | None = None
    percentile: Literal["p50", "p90", "p95", "p99"] = "p95"
    memory_mb: PositiveFloat | None = None
    min_accuracy: Fraction | None = None
    max_model_mb: PositiveFloat | None = None
    min_throughput: PositiveFloat | None = Field(None, description="items per second")
    min_slice_accuracy: dict[SafeName, Fraction] = Field(default_factory=dict)

    @property
    def quantile(self) -> float:
        return PERCENTILES[self.percentile]


class MeasureSettings(Frozen):
    """How long and how carefully one (candidate, variant, profile) is timed."""

    confidence: float = Field(0.99, gt=0.5, lt=1)
    warmup: int = Field(10, ge=0, le=100_000)
    min_samples: int = Field(20, ge=5, le=1_000_000)
    max_samples: int = Field(20_000, ge=5, le=10_000_000)
    max_seconds: PositiveFloat = 4.0
    min_seconds: float = Field(0.2, ge=0, le=3600, description="no verdict from less measuring time than this")
    run_queue_threshold: float = Field(
        0.05, gt=0, le=1, description="disturbed when the timed threads waited for a core this share of the loop"
    )
    target_rel_width: PositiveFloat = Field(0.05, description="stop when the bound's width/estimate is below")
    fixed_samples: int | None = Field(None, ge=5, le=10_000_000, description="disable adaptive stopping")
    throughput_seconds: PositiveFloat = Field(0.5, le=600, description="back-to-back calls for items/s")
    timeout_s: PositiveFloat = Field(300.0, description="kill the measuring child after this long")
    interference_threshold: float = Field(
        1.25, ge=1.0, le=100.0, description="re-measure when the core ran this many times slower than its quietest"
    )
    interference_retries: int = Field(2, ge=0, le=10, description="re-measurements of a disturbed measurement")
    race: bool = Field(True, description="re-measure, with more samples, results the front cannot order yet")

    @model_validator(mode="after")
    def _ordered(self) -> MeasureSettings:
        if self.max_samples < self.min_samples:
            raise ValueError("max_samples must be >= min_samples")
        return self


class UpstreamStage(Frozen):
    """A pipeline stage before the model (e.g. OCR): consumes latency budget, caps accuracy."""

    name: SafeName
    latency_ms: float = Field(0.0, ge=0, allow_inf_nan=False)
    accuracy: Fraction = 1.0


class HardwareProfile(Frozen):
    name: SafeName
    description: str = ""
    device: Literal["cpu", "cuda"]
    threads: int = Field(ge=1, le=1024)
    cores: list[Annotated[int, Field(ge=0, le=4095)]] | None = None
    batch_size: int = Field(1, ge=1, le=65536)
    input_shape: list[Annotated[int, Field(ge=1, le=1_000_000)]] | None = None
    seq_len: Annotated[int, Field(ge=1, le=1_000_000)] | Literal["real"] | None = None
    budget: Budget = Field(default_factory=Budget)
    measure: MeasureSettings = Field(default_factory=MeasureSettings)
    upstream: list[UpstreamStage] = Field(default_factory=list)

    @field_validator("seq_len", mode="before")
    @classmethod
    def _seq_len(cls, value: Any) -> Any:
        ok = value is None or value == "real" or (type(value) is int and 1 <= value <= 1_000_000)
        if not ok:
            raise ValueError(f"must be a token count from 1 to 1000000 or 'real', not {value!r}")
        return value

    @field_validator("cores")
    @classmethod
    def _unique_cores(cls, cores: list[int] | None) -> list[int] | None:
        if cores is not None and (not cores or len(set(cores)) != len(cores)):
            raise ValueError("cores must be a non-empty list of distinct core ids")
        return cores


