"""What every variant shares: the Variant interface, the export context and the Runner.

A variant (torch, onnx, onnx-int8, ...) is one class in one module, registered by name in
archbench/registry.py. In the build child it `produce`s its artifact from the trained module or
from another variant's artifact; in the measuring child it makes a `Runner`.

A Runner times only `runner.timed_call(prepared)` (inside `runner.run_context()`). `prepare` runs
outside the timed region for every runtime alike. When the candidate's input adapter has a timed
stage (a tokenizer: part of what a served request costs), `prepare` returns the raw request and the
timed call runs that stage and then the model, recording both stages' times; otherwise `prepare`
returns the runtime's ready feeds and the timed call is the leanest callable the runtime offers (on a
10 µs model every 100 ns of Python glue is 1% of the figure).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np


class InputAdapter(Protocol):
    """How a candidate's model is fed: raw request -> named int/float arrays (candidates/ kinds)."""

    input_names: tuple[str, ...]
    timed: bool  # encode() is real work a served request pays for (a tokenizer): time it as a stage
    stage_name: str  # that stage's name in stage_latency_ms
    policy: str | None  # e.g. padding and truncation, recorded in the result

    def prepare(self, batch: Any) -> Any: ...

    def encode(self, prepared: Any) -> tuple[np.ndarray, ...]: ...


@dataclass
class ExportContext:
    """What the build child hands each variant: the trained module (None for an .onnx file candidate),
    example inputs, and where to put artifacts. Variants record files in `artifacts` and failures in
    `errors` (a failure is that variant's alone)."""

    module: Any
    out_dir: Path
    input_names: tuple[str, ...]
    dynamic_axes: dict[str, dict[int, str]]
    example: tuple[np.ndarray, ...] = ()
    checks: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # inputs the export must reproduce
    extra_check: Callable[[Any], dict[str, float]] | None = None  # e.g. padding invariance of a text model
    artifacts: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def add_time(self, key: str, start: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - start


class Variant:
    name: ClassVar[str]
    needs_torch_module: ClassVar[bool] = False  # True: only candidates with a PyTorch module can deploy it

    def produce(self, ctx: ExportContext) -> None:
        """Write this variant's artifact into ctx (build child). Default: nothing to write."""

    def runner(self, build: Any, module_loader: Callable[[], Any], adapter: InputAdapter, profile: Any) -> Runner:
        raise NotImplementedError


def produce_variants(variants: list[str], ctx: ExportContext) -> None:
    """Every requested variant, in registry order (a derived file after the one it derives from)."""
    from archbench.registry import VARIANTS, variant

    for name in (v for v in VARIANTS if v in variants):
        if name not in ctx.errors:
            variant(name).produce(ctx)


class Runner:
    """Subclasses set `model_bytes`, `_bind` (arrays -> feeds) and `_model` (feeds -> output)."""

    model_bytes: int = 0
    _model: Callable[[Any], Any]

    def __init__(self, adapter: InputAdapter) -> None:
        self.adapter = adapter
        self.padding_policy = adapter.policy
        self.reset_stages()

    def _bind(self, arrays: tuple[np.ndarray, ...]) -> Any:
        raise NotImplementedError

    @property
    def timed_call(self) -> Callable[[Any], Any]:
        return self._staged if self.adapter.timed else self._model

    def prepare(self, batch: Any) -> Any:
        raw = self.adapter.prepare(batch)
        return raw if self.adapter.timed else self._bind(self.adapter.encode(raw))

    def __call__(self, prepared: Any) -> Any:
        with self.run_context():
            return self.timed_call(prepared)

    def run_context(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def logits(self, output: Any) -> np.ndarray:
        raise NotImplementedError

    def reset_device_peak(self) -> None:
        pass

    def device_memory(self) -> dict[str, float]:
        return {}

    # ---- per-stage times (only when the adapter has a timed stage) ----
    def _staged(self, raw: Any) -> Any:
        clock = time.perf_counter_ns
        t0 = clock()
        arrays = self.adapter.encode(raw)
        t1 = clock()
        out = self._model(self._bind(arrays))
        t2 = clock()
        self._stage_ns.append((t1 - t0, t2 - t1, arrays[0].shape[-1]))
        return out

    def reset_stages(self) -> None:
        self._stage_ns: list[tuple[int, int, int]] = []

    def stage_latency_ms(self) -> dict[str, float]:
        """Per-stage p50/p95 of the calls since the last reset (the worker resets after warm-up)."""
        if not self._stage_ns:
            return {}
        arr = np.array(self._stage_ns, dtype=np.float64)
        pre, model, widths = arr[:, 0] / 1e6, arr[:, 1] / 1e6, arr[:, 2]
        self.padding_policy = (f"{self.adapter.policy}; timed batches were {np.median(widths):g} tokens wide at "
                               f"the median, {np.percentile(widths, 95):g} at p95")  # fmt: skip
        stage = self.adapter.stage_name
        return {
            f"{stage}_p50": float(np.median(pre)), f"{stage}_p95": float(np.percentile(pre, 95)),
            "model_p50": float(np.median(model)), "model_p95": float(np.percentile(model, 95)),
        }  # fmt: skip
