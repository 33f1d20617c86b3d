"""ONNX Runtime (fp32 or dynamically quantized int8 files), CPU or CUDA execution provider."""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import onnxruntime as ort

from archbench.errors import CandidateError


def session_options(threads: int) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def providers_for(device: str) -> list[str]:
    if device != "cuda":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise CandidateError("onnxruntime here has no CUDAExecutionProvider (install onnxruntime-gpu)")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class OrtRunner:
    def __init__(self, path: str, profile: dict[str, Any]) -> None:
        try:
            self.session = ort.InferenceSession(
                path, sess_options=session_options(profile["threads"]), providers=providers_for(profile["device"])
            )
        except CandidateError:
            raise
        except Exception as exc:  # corrupt or unsupported model files are the candidate's failure
            raise CandidateError(f"onnxruntime cannot load {os.path.basename(path)}: {exc}") from exc
        self.input_name = self.session.get_inputs()[0].name
        self.timed_call = functools.partial(self.session.run, None)
        self.model_bytes = os.path.getsize(path)
        self._cuda = profile["device"] == "cuda"

    def prepare(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        return {self.input_name: np.ascontiguousarray(batch)}

    def __call__(self, prepared: dict[str, np.ndarray]) -> list[Any]:
        return self.session.run(None, prepared)

    def logits(self, output: list[Any]) -> np.ndarray:
        return np.asarray(output[0])

    def reset_device_peak(self) -> None:
        pass

    def device_memory(self) -> dict[str, float]:
        return {}  # ORT's CUDA arena exposes no peak figure; the process RSS is still reported
