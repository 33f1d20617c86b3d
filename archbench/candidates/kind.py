"""CandidateKind: how a candidate spec becomes a trained model and artifacts, and how it is fed.

One class per kind (builtin, import, onnx in candidates/tensor.py; hf-config, hf-pretrained in
candidates/hf.py), registered by name in archbench/registry.py. The build child calls `build`; the
measuring child calls `load_module` (for variants that run the PyTorch module) and `input_adapter`;
the parent calls `key_parts` for the build's cache key. The core never asks which kind it holds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, ClassVar

from archbench.backends.variant import InputAdapter
from archbench.jobs import BuildJob, BuildOutput
from archbench.tasks.base import TaskData


class CandidateKind:
    # Address space the kind's libraries reserve on import beyond the model (transformers + torch ~1.5 GB).
    import_headroom_mb: ClassVar[float] = 0.0

    def build(self, job: BuildJob, task: TaskData) -> BuildOutput:
        raise NotImplementedError

    def load_module(self, build: BuildOutput, cand: dict[str, Any], task: TaskData) -> Any:
        from archbench.errors import CandidateError

        raise CandidateError(f"a {cand['kind']} candidate has no PyTorch module")

    def input_adapter(self, build: BuildOutput, profile: Any, task: TaskData) -> InputAdapter:
        raise NotImplementedError

    def key_parts(self, cand: Any) -> list[Any]:
        """Content hashes of the files the build reads (beyond the spec itself), for the cache key."""
        return []


def file_hash(path: str | Path) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()[:16]
    except OSError:
        return None


def dir_hash(path: str | Path) -> str:
    """Hash of a model directory's top-level files (config, tokenizer, weights), by content."""
    from archbench.cache import content_key

    files = sorted(p for p in Path(path).iterdir() if p.is_file()) if Path(path).is_dir() else []
    return content_key([(p.name, file_hash(p)) for p in files])


def count_params(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())
