"""Turn a candidate spec into a torch module (built-in family or the user's import string)."""

from __future__ import annotations

import importlib
from typing import Any

from archbench.errors import CandidateError


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


def make_module(cand: dict[str, Any], sample_shape: tuple[int, ...], num_classes: int) -> Any:
    """Build the untrained (or factory-trained) module for a candidate spec given as plain data."""
    import torch

    if cand["kind"] == "builtin":
        from archbench.candidates.builtin import build_builtin

        return build_builtin(cand["family"], cand.get("params", {}), sample_shape, num_classes)
    if cand["kind"] == "import":
        factory = resolve_import(cand["target"])
        module = factory(**cand.get("kwargs", {}))
        if not isinstance(module, torch.nn.Module):
            raise CandidateError(f"{cand['target']} returned {type(module).__name__}, not a torch.nn.Module")
        return module
    raise CandidateError(f"candidate kind {cand['kind']!r} has no torch module")


def import_source_hash(target: str) -> str | None:
    """Hash the source file behind an import string without executing it (for the build cache key)."""
    import hashlib
    import importlib.util

    module_name = target.partition(":")[0]
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.has_location:
        return None
    try:
        with open(spec.origin, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:16]
    except OSError:
        return None
