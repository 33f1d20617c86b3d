"""Export a trained module to ONNX once, and check it against PyTorch on real inputs.

One path for every candidate kind: the kind says what the inputs are called, which axes are dynamic
(batch; sequence for text) and which inputs the export must reproduce (odd batch sizes, padded and
unpadded texts). A mismatch is a CandidateError: the ONNX variants fail with the reason, never
silently measure a wrong model.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import CandidateError

ATOL, RTOL = 1e-4, 1e-3


def export_onnx(module: Any, example: tuple[np.ndarray, ...], path: Path, input_names: tuple[str, ...],
                dynamic_axes: dict[str, dict[int, str]], opset: int = 17) -> str:  # fmt: skip
    """TorchScript exporter first (fast, one file); the dynamo exporter if it fails. Returns which worked."""
    import torch

    module = module.eval()
    args = tuple(torch.from_numpy(a) for a in example)
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, args, str(path), input_names=list(input_names), output_names=["logits"],
                              opset_version=opset, dynamic_axes=dynamic_axes, dynamo=False)  # fmt: skip
            return "torchscript"
        except Exception as exc:
            errors.append(f"torchscript exporter: {exc}")
        try:
            shapes = tuple({axis: torch.export.Dim(f"{name}_{label}") for axis, label in dynamic_axes[name].items()}
                           for name in input_names)  # fmt: skip
            torch.onnx.export(module, args, str(path), input_names=list(input_names), output_names=["logits"],
                              opset_version=18, dynamic_shapes=shapes, external_data=False, dynamo=True)  # fmt: skip
            return "dynamo"
        except Exception as exc:
            errors.append(f"dynamo exporter: {exc}")
    # The dynamo exporter colours its messages: strip the escape codes before they reach the reports.
    errors = [re.sub(r"\x1b\[[0-9;]*m", "", e) for e in errors]
    raise CandidateError("ONNX export failed: " + " | ".join(" ".join(e.split())[:300] for e in errors))


def verify_onnx(module: Any, path: Path, inputs: tuple[np.ndarray, ...], input_names: tuple[str, ...]) -> float:
    """Largest |ONNX Runtime - PyTorch| on these inputs; a CandidateError beyond the export tolerance."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, dict(zip(input_names, inputs, strict=True)))[0]
    with torch.inference_mode():
        want = module(*(torch.from_numpy(a) for a in inputs)).numpy()
    if got.shape != want.shape:
        raise CandidateError(f"ONNX output shape {got.shape} != PyTorch {want.shape}")
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    if not np.allclose(got, want, atol=ATOL, rtol=RTOL):
        shape = " x ".join(str(tuple(a.shape)) for a in inputs)
        raise CandidateError(f"ONNX export does not match PyTorch on input {shape}: max abs diff {diff:.3g} "
                             f"(atol {ATOL}, rtol {RTOL})")  # fmt: skip
    return diff
