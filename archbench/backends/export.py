"""Export to ONNX once per candidate, check it against PyTorch, and derive int8 variants."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import CandidateError

ATOL, RTOL = 1e-4, 1e-3


def export_onnx(module: Any, example: np.ndarray, path: Path, opset: int = 17) -> str:
    """Export with a dynamic batch axis. TorchScript exporter first (fast); dynamo if it fails."""
    import torch

    module = module.eval()
    x = torch.from_numpy(example)
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                module, (x,), str(path), input_names=["input"], output_names=["logits"], opset_version=opset,
                dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
            )  # fmt: skip
            return "torchscript"
        except Exception as exc:
            errors.append(f"torchscript exporter: {exc}")
        try:
            torch.onnx.export(
                module, (x,), str(path), input_names=["input"], output_names=["logits"], opset_version=18,
                dynamic_shapes=({0: torch.export.Dim("batch")},), external_data=False, dynamo=True,
            )  # fmt: skip
            return "dynamo"
        except Exception as exc:
            errors.append(f"dynamo exporter: {exc}")
    # The dynamo exporter colours its messages: strip the escape codes before they reach the reports.
    errors = [re.sub(r"\x1b\[[0-9;]*m", "", e) for e in errors]
    raise CandidateError("ONNX export failed: " + " | ".join(" ".join(e.split())[:300] for e in errors))


def verify_onnx(module: Any, path: Path, inputs: np.ndarray) -> float:
    """Largest absolute difference between ONNX Runtime and PyTorch; raise when beyond tolerance."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: inputs})[0]
    with torch.inference_mode():
        want = module(torch.from_numpy(inputs)).numpy()
    if got.shape != want.shape:
        raise CandidateError(f"ONNX output shape {got.shape} != PyTorch {want.shape}")
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    if not np.allclose(got, want, atol=ATOL, rtol=RTOL):
        raise CandidateError(f"ONNX export does not match PyTorch: max abs diff {diff:.3g} (atol {ATOL}, rtol {RTOL})")
    return diff


def quantize_onnx(src: Path, dst: Path, per_channel: bool) -> None:
    """ONNX Runtime dynamic int8 quantisation (weights int8, activations quantised at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel)
    except Exception as exc:
        raise CandidateError(f"onnxruntime quantize_dynamic failed: {' '.join(str(exc).split())[:300]}") from exc


INT8_VARIANTS = (("onnx-int8", False), ("onnx-int8-pc", True))  # (variant, per-channel weights)


def quantize_variants(src: Path, out_dir: Path, variants: list[str], artifacts: dict[str, str],
                      errors: dict[str, str], timings: dict[str, float]) -> None:  # fmt: skip
    """Write the requested int8 files beside src; a failure is that variant's, recorded in errors."""
    import time

    from archbench.backends import ONNX_FILES

    t0 = time.perf_counter()
    for variant, per_channel in INT8_VARIANTS:
        if variant in variants:
            dst = out_dir / ONNX_FILES[variant]
            try:
                quantize_onnx(src, dst, per_channel=per_channel)
                artifacts[variant] = str(dst)
            except CandidateError as exc:
                errors[variant] = str(exc)
    timings["quantize_s"] = time.perf_counter() - t0
