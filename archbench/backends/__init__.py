"""One module per runtime, each behind the small Runner protocol below.

A Runner is created in the measuring child for one (candidate, variant, profile). The measuring loop
times only `runner.timed_call(prepared)` (falling back to `runner(prepared)`), inside
`runner.run_context()` when a runner has one; `prepare` (e.g. numpy -> torch tensor) happens outside the
timed region for every backend alike, so runtimes are compared on the same work. `timed_call` is the
leanest callable a runtime offers (e.g. `partial(session.run, None)`): on a 10 µs model every 100 ns of
Python glue is 1% of the figure.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx", "onnx-int8-pc": "model.int8pc.onnx"}


class Runner(Protocol):
    model_bytes: int

    def prepare(self, batch: np.ndarray) -> Any: ...

    def __call__(self, prepared: Any) -> Any: ...

    def logits(self, output: Any) -> np.ndarray: ...

    def device_memory(self) -> dict[str, float]: ...

    def reset_device_peak(self) -> None: ...


def make_runner(variant: str, build: dict[str, Any], cand: dict[str, Any], profile: dict[str, Any],
                sample_shape: tuple[int, ...], num_classes: int, task_kind: str = "tensor") -> Runner:  # fmt: skip
    if task_kind == "text":  # the tokenizer is part of the timed call: see backends/text.py
        from archbench.backends.text import make_text_runner

        return make_text_runner(variant, build, profile)
    if variant in ("torch", "torch-int8"):
        from archbench.backends.torch_eager import TorchRunner

        return TorchRunner(build, cand, profile, sample_shape, num_classes, quantize=variant == "torch-int8")
    if variant in ONNX_FILES:
        from archbench.backends.ort import OrtRunner

        return OrtRunner(build["artifacts"][variant], profile)
    raise ValueError(f"unknown variant {variant!r}")
