"""GPU path: CUDA timing with synchronisation, allocator peak memory, ORT CUDA EP. Skipped without CUDA."""

from __future__ import annotations

import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.sweep import Sweep
from tests.conftest import TINY_CANDIDATES, TINY_PROFILE, write

pytestmark = [pytest.mark.gpu, pytest.mark.slow]


def test_cuda_sweep_measures_gpu_memory_and_latency(tmp_path):
    cands = write(tmp_path / "c.yaml", TINY_CANDIDATES)
    prof = write(tmp_path / "gpu.yaml", TINY_PROFILE.format(name="gpu-t", device="cuda", batch=32))
    outcome = Sweep(load_sweep_config(cands), [load_profile(prof)], tmp_path / "r", Cache(tmp_path / "c")).run()
    by = {(r.candidate, r.variant): r for r in outcome.results}
    torch_r = by[("mlp-a", "torch")]
    assert torch_r.status == "ok", torch_r.error
    assert torch_r.memory["gpu_peak_mb"] > 0
    assert torch_r.peak_memory_mb == torch_r.memory["gpu_peak_mb"]
    assert torch_r.latency["p50"] > 0 and torch_r.accuracy > 0.3
    onnx_r = by[("mlp-a", "onnx")]
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert onnx_r.status == "ok", onnx_r.error
    else:
        assert onnx_r.status == "failed" and "CUDAExecutionProvider" in onnx_r.error


def test_cuda_timing_includes_the_gpu_work():
    """Synchronised wall time of a large matmul must cover the kernel time CUDA events report."""
    import torch

    x = torch.randn(4096, 4096, device="cuda")
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    import time

    t0 = time.perf_counter()
    start.record()
    for _ in range(10):
        x @ x
    end.record()
    torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - t0) * 1000
    assert wall_ms >= start.elapsed_time(end) * 0.9
