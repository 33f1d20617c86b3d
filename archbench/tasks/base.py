"""TaskData (the arrays every child works on, saved once as .npz and content-hashed) and TaskKind.

A task kind is one class in one module, registered by name in archbench/registry.py: its config
spec, how its files resolve against the config file, and how it loads into TaskData (in the parent).
What its inputs are (`modality`) decides how batches are fed (archbench/tasks/batches.py) and which
candidate kinds fit it; the core never asks which kind it holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np


class TaskKind:
    """Subclass, set `name`, `Spec` (a config.TaskSpecBase subclass) and `modality`, implement `load`."""

    name: ClassVar[str]
    Spec: ClassVar[type]
    modality: ClassVar[str] = "tensor"  # "tensor": x arrays are model inputs; "text": x arrays are strings
    # The spec's path keys and what each must be: "data file", "directory" or "any" (config.resolve_user_path).
    path_keys: ClassVar[dict[str, str]] = {}

    @classmethod
    def resolve_paths(cls, spec: Any, base: Path, config_file: str | Path) -> Any:
        """Make the spec's file paths (`path_keys`) absolute, relative to the config file, and check they exist."""
        from archbench.config import resolve_user_path

        update = {k: resolve_user_path(base, getattr(spec, k), config_file, f"task.{k}", what)
                  for k, what in cls.path_keys.items() if getattr(spec, k) is not None}  # fmt: skip
        return spec.model_copy(update=update) if update else spec

    @classmethod
    def load(cls, spec: Any, config_file: str | Path) -> TaskData:
        raise NotImplementedError


@dataclass
class TaskData:
    name: str
    kind: str  # the modality: "tensor" (x arrays are model inputs) or "text" (x arrays are strings)
    num_classes: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    slices: dict[str, np.ndarray] = field(default_factory=dict)  # name -> indices into the test set
    info: dict[str, Any] = field(default_factory=dict)  # JSON-able: labels, columns, policies, metric

    @property
    def metric(self) -> str:
        return str(self.info.get("metric", "accuracy"))

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.x_test.shape[1:])

    def fingerprint(self) -> str:
        """Content hash of everything that changes a trained model or a measured accuracy."""
        h = hashlib.sha256()
        h.update(json.dumps([self.name, self.kind, self.num_classes, self.info], sort_keys=True).encode())
        for arr in (self.x_train, self.y_train, self.x_test, self.y_test):
            h.update(_array_bytes(arr))
        for name in sorted(self.slices):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.slices[name]).tobytes())
        return h.hexdigest()[:24]

    def save(self, path: Path) -> None:
        from archbench import atomic

        arrays = {"x_train": self.x_train, "y_train": self.y_train, "x_test": self.x_test, "y_test": self.y_test}
        arrays.update({f"slice__{k}": v for k, v in self.slices.items()})
        meta = json.dumps({"name": self.name, "kind": self.kind, "num_classes": self.num_classes, "info": self.info})
        # A unique temporary name per writer: two sweeps may save the same task at once.
        stored = {k: _storable(v) for k, v in arrays.items()}
        atomic.write_with(path, lambda fh: np.savez(fh, __meta__=np.array(meta), **stored))

    @classmethod
    def load(cls, path: Path) -> TaskData:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            slices = {k.removeprefix("slice__"): z[k] for k in z.files if k.startswith("slice__")}
            return cls(
                meta["name"], meta["kind"], meta["num_classes"],
                z["x_train"], z["y_train"], z["x_test"], z["y_test"], slices, meta["info"],
            )  # fmt: skip


def _storable(arr: np.ndarray) -> np.ndarray:
    # Text is stored as fixed-width unicode: .npz without pickles cannot hold object arrays.
    return arr.astype(str) if arr.dtype == object else arr


def _array_bytes(arr: np.ndarray) -> bytes:
    return _storable(np.ascontiguousarray(arr)).tobytes()
