"""Shared fixtures: tiny candidate sets and profiles so end-to-end tests take seconds, not minutes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

TINY_CANDIDATES = """
task: {kind: digits}
train: {epochs: 6, lr: 0.003, batch_size: 64, seed: 0}
candidates:
  - {name: mlp-a, kind: builtin, family: mlp, params: {hidden: [16]}, variants: [torch, onnx, onnx-int8]}
  - {name: cnn-b, kind: builtin, family: cnn, params: {channels: [8], hidden: 32}, variants: [torch, onnx]}
"""

TINY_PROFILE = """
name: {name}
device: {device}
threads: 1
batch_size: {batch}
budget: {{latency_ms: 50, percentile: p90, memory_mb: 4000, min_accuracy: 0.3}}
measure: {{max_seconds: 0.3, min_samples: 20, max_samples: 400, warmup: 3, timeout_s: 120}}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cache"
    monkeypatch.setenv("ARCHBENCH_CACHE", str(path))
    return path


@pytest.fixture
def tiny_profile(tmp_path) -> Path:
    return write(tmp_path / "profiles" / "tiny.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=1))


@pytest.fixture
def tiny_candidates(tmp_path) -> Path:
    return write(tmp_path / "candidates.yaml", TINY_CANDIDATES)


def pytest_collection_modifyitems(config, items):
    """GPU tests skip cleanly when CUDA is absent (the sweep's own check: device nodes first, then torch)."""
    from archbench.sweep import cuda_available

    available, reason = cuda_available()
    if available:
        return
    skip = pytest.mark.skip(reason=f"needs CUDA: {reason}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
