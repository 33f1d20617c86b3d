"""A new labelled batch read in the run's task format, with the task's slices applied to it.

File-based task kinds (a spec with `test_file` or `test_dir`: text, tables, images) read the batch with
their own loader, as if it were the test file: same columns, label names, parsing and declared slices,
and the same errors naming the file, row and column. Slices defined relative to the test set (text's
default short/long split at the test set's median length) are re-applied with the test set's cut, not
the batch's. Array kinds take an .npz with `x`, `y` and optional `slice__NAME` index arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import ConfigError
from archbench.tasks.base import TaskData

FILE_FIELDS = ("test_file", "test_dir")  # where a file-based kind's spec names its test data


@dataclass
class Batch:
    path: Path
    x: np.ndarray
    y: np.ndarray
    slices: dict[str, np.ndarray]
    notes: list[str]

    def as_task(self, task: TaskData) -> TaskData:
        """The run's task with the batch as its test set (what the scoring child loads)."""
        return TaskData(task.name, task.kind, task.num_classes, task.x_train[:0], task.y_train[:0],
                        self.x, self.y, self.slices, task.info)  # fmt: skip


def read_batch(path: Path, spec: Any, task: TaskData, config_file: str) -> Batch:
    if not path.exists():
        raise ConfigError(path, "<file>", "no such file or directory")
    if path.suffix.lower() == ".npz":
        batch = _read_npz(path, spec, task)
    else:
        batch = _read_like_test_file(path, spec, task, config_file)
    if len(batch.y) == 0:
        raise ConfigError(path, "<file>", "the batch has no samples")
    return batch


def _read_like_test_file(path: Path, spec: Any, task: TaskData, config_file: str) -> Batch:
    from archbench.registry import task_kind

    field = next((f for f in FILE_FIELDS if f in type(spec).model_fields), None)
    if field is None:
        raise ConfigError(path, "<file>", f"a {spec.kind} task takes a batch as .npz (arrays x, y)")
    update: dict[str, Any] = {field: str(path.resolve())}
    if "max_test" in type(spec).model_fields:
        update["max_test"] = None  # the whole batch, never a subsample
    data = task_kind(spec.kind).load(spec.model_copy(update=update), config_file)
    labels = data.info.get("labels")
    if labels != task.info.get("labels"):
        raise ConfigError(path, "labels", f"the task's labels read now ({labels}) differ from the run's "
                          f"({task.info.get('labels')}): the training data changed")  # fmt: skip
    slices, notes = dict(data.slices), []
    if isinstance(task.info.get("slices"), str) and task.info["slices"].startswith("default"):
        slices = _length_slices(data.x_test, spec, task)
        notes.append(f"slices short/long cut at the test set's median length ({task.info['test_length']['p50']:g})")
    return Batch(path, data.x_test, data.y_test, slices, notes)


def _length_slices(texts: np.ndarray, spec: Any, task: TaskData) -> dict[str, np.ndarray]:
    from archbench.tasks.text_slices import token_lengths

    tokens, _ = token_lengths([str(t) for t in texts], getattr(spec, "length_tokenizer", None))
    cut = float(task.info["test_length"]["p50"])
    return {"short": np.flatnonzero(tokens <= cut), "long": np.flatnonzero(tokens > cut)}


def _read_npz(path: Path, spec: Any, task: TaskData) -> Batch:
    if task.kind != "tensor":
        raise ConfigError(path, "<file>", f"a {spec.kind} task takes its batch in its data format, not .npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise ConfigError(path, "<file>", f"not a readable .npz: {exc}") from None
    for key in ("x", "y"):
        if key not in arrays:
            raise ConfigError(path, key, f"missing (the batch has: {', '.join(sorted(arrays)) or 'nothing'})")
    x, y = arrays["x"], arrays["y"]
    if tuple(x.shape[1:]) != task.sample_shape:
        raise ConfigError(path, "x", f"samples of shape {list(x.shape[1:])}; the task's are {list(task.sample_shape)}")
    if y.ndim != 1 or len(y) != len(x):
        raise ConfigError(path, "y", f"expected {len(x)} labels (one per sample), got shape {list(y.shape)}")
    y = _label_ids(path, y, task)
    slices = {}
    for key, idx in arrays.items():
        if not key.startswith("slice__"):
            continue
        name = key.removeprefix("slice__")
        if name not in task.slices:
            raise ConfigError(path, key, f"the task has no slice {name!r} (slices: {', '.join(task.slices)})")
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= len(x)):
            raise ConfigError(path, key, f"indices must lie in 0..{len(x) - 1}")
        slices[name] = idx
    missing = [s for s in task.slices if s not in slices]
    notes = [f"slices not in the batch (slice__NAME arrays), not checked: {', '.join(missing)}"] if missing else []
    return Batch(path, x.astype(task.x_test.dtype), y, slices, notes)


def _label_ids(path: Path, y: np.ndarray, task: TaskData) -> np.ndarray:
    names = [str(n) for n in task.info.get("labels") or range(task.num_classes)]
    if y.dtype.kind in "US":  # label names
        ids = {n: i for i, n in enumerate(names)}
        bad = next((str(v) for v in y if str(v) not in ids), None)
        if bad is not None:
            raise ConfigError(path, "y", f"label {bad!r} is not one of the task's labels ({', '.join(names)})")
        return np.array([ids[str(v)] for v in y], dtype=np.int64)
    if y.dtype.kind not in "iu":
        raise ConfigError(path, "y", f"labels must be integers or label names, got {y.dtype}")
    bad_ids = y[(y < 0) | (y >= task.num_classes)]
    if bad_ids.size:
        raise ConfigError(path, "y", f"label {int(bad_ids[0])} is not a class of the task (0..{task.num_classes - 1})")
    return y.astype(np.int64)
