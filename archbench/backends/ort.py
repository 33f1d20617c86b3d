"""ONNX Runtime, fp32 (`onnx`): exported once per candidate, checked, run on CPU or the CUDA EP."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from archbench.backends.variant import ExportContext, InputAdapter, Runner, Variant
from archbench.errors import CandidateError

ONNX_FILE = "model.onnx"


def session_options(threads: int) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def providers_for(device: str) -> list[str]:
    import onnxruntime as ort

    if device != "cuda":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise CandidateError("onnxruntime here has no CUDAExecutionProvider (install onnxruntime-gpu)")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class OrtRunner(Runner):
    def __init__(self, path: str, adapter: InputAdapter, profile: Any) -> None:
        import onnxruntime as ort

        super().__init__(adapter)
        try:
            self.session = ort.InferenceSession(path, sess_options=session_options(profile.threads),
                                                providers=providers_for(profile.device))  # fmt: skip
        except CandidateError:
            raise
        except Exception as exc:  # corrupt or unsupported model files are the candidate's failure
            raise CandidateError(f"onnxruntime cannot load {os.path.basename(path)}: {exc}") from exc
        # An .onnx file names its own inputs; a built candidate's adapter agrees with its export.
        self.input_names = tuple(i.name for i in self.session.get_inputs())[: len(adapter.input_names)]
        self._model = functools.partial(self.session.run, None)
        self.model_bytes = os.path.getsize(path)

    def _bind(self, arrays: tuple[np.ndarray, ...]) -> dict[str, np.ndarray]:
        return {name: np.ascontiguousarray(a) for name, a in zip(self.input_names, arrays, strict=True)}

    def logits(self, output: list[Any]) -> np.ndarray:
        return np.asarray(output[0])


class OrtVariant(Variant):
    name = "onnx"
    artifact = "onnx"

    def produce(self, ctx: ExportContext) -> None:
        """Export the module (an .onnx file candidate brings its own file) and check it on real inputs."""
        from archbench.backends.export import export_onnx, verify_onnx

        if ctx.module is None or "onnx" in ctx.artifacts:
            return
        start = time.perf_counter()
        path = ctx.out_dir / ONNX_FILE
        try:
            ctx.info["exporter"] = export_onnx(ctx.module, ctx.example, path, ctx.input_names, ctx.dynamic_axes)
            ctx.info["export_max_abs_diff"] = max(verify_onnx(ctx.module, path, x, ctx.input_names)
                                                  for x in ctx.checks or [ctx.example])  # fmt: skip
            if ctx.extra_check is not None:
                ctx.info.update(ctx.extra_check(ctx.module))
            ctx.artifacts["onnx"] = str(path)
        except CandidateError as exc:
            ctx.errors["onnx"] = str(exc)
        ctx.add_time("export_s", start)

    def runner(self, build: Any, module_loader: Callable[[], Any], adapter: InputAdapter, profile: Any) -> Runner:
        path = build.artifacts.get(self.artifact)
        if path is None:
            raise CandidateError(f"no {self.name} artifact was built")
        return OrtRunner(path, adapter, profile)
