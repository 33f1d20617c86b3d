"""A new labelled batch read in the run's task format, with the task's slices applied to it.

Each task kind's batch is read with that kind's own readers, so the same parsing rules and the same
errors (naming the file, row and column) apply, and the labels are numbered as the run's:
- text (and any kind whose spec names a `test_file`/`test_dir`): the kind's loader, as if the batch were
  the test file; declared slices apply as declared;
- table: a CSV/Parquet file with the task's feature and label columns, standardised with the training
  split's mean and standard deviation recorded in the run's task info (never re-estimated);
- arrays: an .npz with the task's x_key/y_key arrays; images: a folder of class folders;
- digits, import and other array kinds: an .npz with `x`, `y` and optional `slice__NAME` index arrays.
Slices defined relative to the test set are re-cut with the TEST SET's figures recorded in the task
info, never the batch's: text's default short/long at the test set's median length, images'
brightness quartiles at the test set's cut points. Per-class slices (`class-<label>`, digits'
`slice_classes`) follow from the batch's labels.
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
    reader = _READERS.get(spec.kind)
    if reader is not None:
        batch = reader(path, spec, task)
    elif path.suffix.lower() == ".npz":
        batch = _read_npz(path, spec, task)
    else:
        batch = _read_like_test_file(path, spec, task, config_file)
    if len(batch.y) == 0:
        raise ConfigError(path, "<file>", "the batch has no samples")
    return batch


def _read_table(path: Path, spec: Any, task: TaskData) -> Batch:
    """The table kind's own reader and cell checks; the run's recorded standardisation, applied as recorded."""
    from archbench.tasks.table import _features_and_labels, _read

    if path.is_dir():
        raise ConfigError(path, "<file>", "a table task takes its batch as one CSV or Parquet file")
    table = _read(path, spec.format)
    features = list(task.info.get("feature_columns") or [])
    x, labels = _features_and_labels(table, features, spec.label_column)
    y = _ids_by_name(path, labels, task, lambda i: table.where(i, spec.label_column))
    std = task.info.get("standardize")
    if std:  # the training split's figures from the run, so the model sees the batch exactly as its test set
        x = (x - np.asarray(std["mean"], dtype=np.float64)) / np.asarray(std["std"], dtype=np.float64)
    return _with_task_slices(Batch(path, x.astype(np.float32), y, {}, []), task)


def _read_arrays(path: Path, spec: Any, task: TaskData) -> Batch:
    from archbench.tasks.arrays import check_inputs, check_labels, load_array

    if path.suffix.lower() != ".npz":
        raise ConfigError(path, "<file>", f"an arrays task takes its batch as .npz (arrays {spec.x_key}, {spec.y_key})")
    x = check_inputs(load_array(path, spec.x_key), path, spec.x_key)
    if tuple(x.shape[1:]) != task.sample_shape:
        raise ConfigError(path, spec.x_key, f"samples of shape {list(x.shape[1:])}; the task's are "
                          f"{list(task.sample_shape)}")  # fmt: skip
    y = _ids_by_name(path, _label_texts(check_labels(load_array(path, spec.y_key), len(x), path, spec.y_key)), task,
                     lambda i: f"{spec.y_key}[{i}]")  # fmt: skip
    return _with_task_slices(Batch(path, x.astype(np.float32), y, {}, []), task)


def _read_images(path: Path, spec: Any, task: TaskData) -> Batch:
    """A folder of class folders, read and resized as the run's images were."""
    from archbench.tasks.images import list_images, read_images

    if not path.is_dir():
        raise ConfigError(path, "<file>", "an images task takes its batch as a folder of class folders "
                          "(batch/<class>/image.png)")  # fmt: skip
    files, labels, _ = list_images(path, "--batch")
    y = _ids_by_name(path, labels, task, lambda i: files[i].parent.name)
    height, width = task.info.get("image_size") or task.sample_shape[1:]
    channels = int(task.info.get("channels") or task.sample_shape[0])
    x = read_images(files, int(height), int(width), channels)
    return _with_task_slices(Batch(path, x, y, {}, []), task)


def _with_task_slices(batch: Batch, task: TaskData) -> Batch:
    """The task's slices that follow from a sample's label or from a recorded test-set figure."""
    derived = derived_slices(batch.x, batch.y, task)
    slices = {name: derived[name] for name in task.slices if name in derived and name not in batch.slices}
    slices.update(batch.slices)
    missing = [s for s in task.slices if s not in slices]
    notes = list(batch.notes)
    if missing:
        notes.append(f"slices not in the batch (give slice__NAME index arrays), not checked: {', '.join(missing)}")
    if any(name.startswith("brightness-") for name in slices) and "brightness_cuts" in task.info:
        cuts = ", ".join(f"{c:.4g}" for c in task.info["brightness_cuts"])
        notes.append(f"brightness quartiles cut at the test set's mean pixel values ({cuts})")
    return Batch(batch.path, batch.x, batch.y, slices, notes)


def derived_slices(x: np.ndarray, y: np.ndarray, task: TaskData) -> dict[str, np.ndarray]:
    """Per-class slices from the labels; brightness quartiles at the test set's cuts (images)."""
    from archbench.tasks.classes import class_slices

    # class_slices over one sample per class: every class's slice name (clashes resolved as the task did) -> id
    names = _names(task)
    out = {name: np.flatnonzero(y == int(ids[0]))
           for name, ids in class_slices(np.arange(len(names)), names).items()}  # fmt: skip
    for name, classes in (task.info.get("slice_classes") or {}).items():
        out[name] = np.flatnonzero(np.isin(y, classes))
    cuts = task.info.get("brightness_cuts")
    if isinstance(cuts, list) and len(x) and x.ndim >= 2:
        brightness = x.reshape(len(x), -1).mean(axis=1)
        group = np.searchsorted(np.asarray(cuts, dtype=np.float64), brightness, side="left")  # <= cut: that group
        for q in range(len(cuts) + 1):
            out[f"brightness-q{q + 1}"] = np.flatnonzero(group == q)
    return out


def _names(task: TaskData) -> list[str]:
    return [str(n) for n in task.info.get("labels") or range(task.num_classes)]


def _label_texts(y: np.ndarray) -> list[str]:
    from archbench.tasks.classes import label_text

    return [label_text(v) for v in y]


def _ids_by_name(path: Path, labels: list[str], task: TaskData, where: Any) -> np.ndarray:
    """The run's class id of every label name; a name the run never trained on names its row."""
    from archbench.tasks.classes import ids_of

    return ids_of(labels, _names(task), path, where, "the run's training data", "labels")


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
    if isinstance(task.info.get("slices"), str) and task.info["slices"].startswith("default: short") \
            and "test_length" in task.info:  # text's default: cut where the test set was cut
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
    # the rest follow from the labels (per-class slices) where they can; others are listed as not checked
    return _with_task_slices(Batch(path, x.astype(task.x_test.dtype), y, slices, []), task)


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


_READERS = {"table": _read_table, "arrays": _read_arrays, "images": _read_images}
