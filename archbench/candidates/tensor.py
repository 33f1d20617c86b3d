"""Candidate kinds for array inputs: built-in families, the user's import-string factories, .onnx files.

Built-in and import candidates are PyTorch modules: trained here (unless the factory returns trained
weights or a safetensors file is given), saved as safetensors, exported to ONNX once with a dynamic
batch axis. An .onnx file is deployed as it is (and quantised when an int8 variant asks).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np

from archbench.backends.variant import ExportContext, produce_variants
from archbench.candidates.kind import CandidateKind, count_params, file_hash
from archbench.errors import CandidateError
from archbench.jobs import BuildJob, BuildOutput
from archbench.tasks.base import TaskData

WEIGHTS_FILE = "weights.safetensors"


class TensorAdapter:
    """Arrays in, as they are: nothing to time beyond the model."""

    input_names = ("input",)
    timed = False
    stage_name = "preprocess"
    policy = None

    def prepare(self, batch: Any) -> Any:
        return batch

    def encode(self, prepared: Any) -> tuple[np.ndarray, ...]:
        return (np.ascontiguousarray(prepared),)


class ModuleKind(CandidateKind):
    """A PyTorch module made from the spec; subclasses implement `make_module`."""

    def make_module(self, cand: dict[str, Any], task: TaskData) -> Any:
        raise NotImplementedError

    def build(self, job: BuildJob, task: TaskData) -> BuildOutput:
        import torch
        from safetensors.torch import load_file, save_file

        from archbench.candidates.train import train_classifier

        cand, tr, out_dir = job.candidate, job.train, Path(job.out_dir)
        torch.manual_seed(tr.seed)
        info: dict[str, Any] = {}
        module = self.make_module(cand, task)
        start = time.perf_counter()
        if cand.get("weights"):
            module.load_state_dict(load_file(cand["weights"]))
        elif not cand.get("trained"):
            info.update(train_classifier(module, task.x_train, task.y_train, tr.epochs, tr.lr, tr.batch_size,
                                         tr.seed, tr.weight_decay))  # fmt: skip
        module.eval()
        timings = {"train_s": time.perf_counter() - start}
        weights = out_dir / WEIGHTS_FILE
        save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(weights))
        ctx = ExportContext(
            module, out_dir, ("input",), {"input": {0: "batch"}, "logits": {0: "batch"}},
            example=(task.x_test[:2],), checks=[(np.concatenate([task.x_test[:7], task.x_test[-1:]]),)],  # odd sizes
            artifacts={"weights": str(weights)}, timings=timings, info=info,
        )  # fmt: skip
        produce_variants(job.variants, ctx)
        return BuildOutput(artifacts=ctx.artifacts, variant_errors=ctx.errors, timings=ctx.timings,
                           params=count_params(module), info=ctx.info)  # fmt: skip

    def load_module(self, build: BuildOutput, cand: dict[str, Any], task: TaskData) -> Any:
        """Rebuild the architecture and load its weights through safetensors (never pickle)."""
        from safetensors.torch import load_file

        module = self.make_module(cand, task)
        module.load_state_dict(load_file(build.artifacts["weights"]))
        return module.eval()

    def input_adapter(self, build: BuildOutput, profile: Any, task: TaskData) -> TensorAdapter:
        return TensorAdapter()


class BuiltinKind(ModuleKind):
    def make_module(self, cand: dict[str, Any], task: TaskData) -> Any:
        from archbench.candidates.builtin import build_builtin

        return build_builtin(cand["family"], cand.get("params", {}), task.sample_shape, task.num_classes)


class ImportKind(ModuleKind):
    """The user's own factory, `package.module:factory(**kwargs)`. Runs their code, by design."""

    def make_module(self, cand: dict[str, Any], task: TaskData) -> Any:
        import torch

        module = resolve_import(cand["target"])(**cand.get("kwargs", {}))
        if not isinstance(module, torch.nn.Module):
            raise CandidateError(f"{cand['target']} returned {type(module).__name__}, not a torch.nn.Module")
        return module

    def key_parts(self, cand: Any) -> list[Any]:
        return [import_source_hash(cand.target), file_hash(cand.weights) if cand.weights else None]


class OnnxFileKind(CandidateKind):
    """An existing .onnx file: deployed as it is; int8 variants quantise it."""

    def build(self, job: BuildJob, task: TaskData) -> BuildOutput:
        ctx = ExportContext(None, Path(job.out_dir), ("input",), {}, artifacts={"onnx": job.candidate["path"]})
        produce_variants(job.variants, ctx)
        return BuildOutput(artifacts=ctx.artifacts, variant_errors=ctx.errors, timings=ctx.timings)

    def input_adapter(self, build: BuildOutput, profile: Any, task: TaskData) -> TensorAdapter:
        return TensorAdapter()

    def key_parts(self, cand: Any) -> list[Any]:
        return [file_hash(cand.path)]


def resolve_import(target: str) -> Any:
    """'package.module:factory' -> the callable. Runs the module's code: that is the contract."""
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of user code is the candidate's failure
        raise CandidateError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise CandidateError(f"module {module_name!r} has no attribute {attr!r}") from None


def import_source_hash(target: str) -> str | None:
    """Hash the source file behind an import string without executing it (for the build cache key)."""
    import importlib.util

    module_name = target.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.has_location:
        return None
    return file_hash(spec.origin)
