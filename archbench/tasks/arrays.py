"""Classification on the user's own NumPy arrays: .npz files (keys `x` and `y` by default) or .npy pairs.

Either form per split: `train_file: train.npz` (arrays under `x_key`/`y_key`), or `train_x: x.npy` with
`train_y: y.npy`; the same for the test split, or neither (then train is split with a seed, stratified).
Arrays are loaded with allow_pickle=False: a file holding Python objects is refused, never unpickled.
Inputs keep their shape (one sample per row of x: (N, ...) -> samples of shape x.shape[1:]) and are
cast to float32 as stored (no scaling). Labels may be integers, whole floats, booleans or strings;
they are named and numbered 0..k-1 (tasks/classes.py). Default slices: one per class (`class-<label>`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from archbench.config import TaskSpecBase
from archbench.errors import ConfigError
from archbench.rowids import record_row_ids
from archbench.tasks.base import TaskData, TaskKind
from archbench.tasks.classes import class_slices, encode_labels, label_text, split_indices

FILE_KEYS = ("train_file", "test_file", "train_x", "train_y", "test_x", "test_y")


class ArraysTaskSpec(TaskSpecBase):
    kind: Literal["arrays"] = "arrays"
    train_file: str | None = Field(None, min_length=1, description=".npz with arrays under x_key and y_key")
    test_file: str | None = Field(None, min_length=1, description=".npz; absent (and no test_x): split train")
    train_x: str | None = Field(None, min_length=1, description=".npy of training inputs (with train_y)")
    train_y: str | None = Field(None, min_length=1, description=".npy of training labels")
    test_x: str | None = Field(None, min_length=1)
    test_y: str | None = Field(None, min_length=1)
    x_key: str = Field("x", min_length=1)
    y_key: str = Field("y", min_length=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _one_form_per_split(self) -> ArraysTaskSpec:
        for split, required in (("train", True), ("test", False)):
            file, x, y = (getattr(self, f"{split}_{k}") for k in ("file", "x", "y"))
            if file is not None and (x is not None or y is not None):
                raise ValueError(f"give {split}_file (.npz) or {split}_x with {split}_y (.npy), not both")
            if (x is None) != (y is None):
                raise ValueError(f"{split}_x and {split}_y go together (inputs and labels as .npy files)")
            if required and file is None and x is None:
                raise ValueError("give train_file (.npz) or train_x with train_y (.npy)")
        return self


class ArraysTask(TaskKind):
    name = "arrays"
    Spec = ArraysTaskSpec
    path_keys: ClassVar[dict[str, str]] = dict.fromkeys(FILE_KEYS, "data file")

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_arrays_task(spec)


def load_arrays_task(spec: Any) -> TaskData:
    x, y, _, y_file, y_key = _split(spec, "train")
    labels = [label_text(v) for v in y]
    if spec.test_file is not None or spec.test_x is not None:
        x_test, y_test_raw, _, test_y_file, test_y_key = _split(spec, "test")
        if x_test.shape[1:] != x.shape[1:]:
            raise ConfigError(spec.test_file or spec.test_x, spec.x_key if spec.test_file else "<array>",
                              f"test samples have shape {list(x_test.shape[1:])}, training samples "
                              f"{list(x.shape[1:])}")  # fmt: skip
        test_labels = [label_text(v) for v in y_test_raw]
        rows = np.arange(len(test_labels))
        x_train, train_labels, tr = x, labels, np.arange(len(labels))
    else:
        test_y_file, test_y_key = y_file, y_key
        tr, rows = split_indices(labels, spec.test_fraction, spec.seed)
        x_train, x_test = x[tr], x[rows]
        train_labels, test_labels = [labels[i] for i in tr], [labels[i] for i in rows]
    names, y_train, y_test = encode_labels(train_labels, test_labels, y_file, test_y_file,
                                           lambda i: f"{test_y_key}[{int(rows[i])}]")  # fmt: skip
    sources = [Path(p).name for p in (spec.train_file, spec.train_x, spec.train_y, spec.test_file, spec.test_x,
                                      spec.test_y) if p]  # fmt: skip
    info = {
        "source": sources, "labels": names, "sample_shape": list(x.shape[1:]), "input_dtype": str(x.dtype),
        "split": "files" if spec.test_file or spec.test_x
                 else f"stratified {spec.test_fraction:g} of the training arrays, seed {spec.seed}",
        "slices": "default: one per class (class-<label>)",
    }  # fmt: skip
    record_row_ids(info, train=tr, test=rows)  # index in the training arrays, and in the test rows' arrays
    return TaskData(f"arrays:{sources[0]}", "tensor", len(names), x_train.astype(np.float32), y_train,
                    x_test.astype(np.float32), y_test, class_slices(y_test, names), info)  # fmt: skip


def _split(spec: Any, split: str) -> tuple[np.ndarray, np.ndarray, str, str, str]:
    """(x, y, x's file, y's file, y's key for messages) of one split, checked."""
    npz = getattr(spec, f"{split}_file")
    if npz is not None:
        x = load_array(npz, spec.x_key)
        y = load_array(npz, spec.y_key)
        x_file, y_file, x_key, y_key = npz, npz, spec.x_key, spec.y_key
    else:
        x_file, y_file = getattr(spec, f"{split}_x"), getattr(spec, f"{split}_y")
        x, y = load_array(x_file), load_array(y_file)
        x_key, y_key = "x", "y"
    return check_inputs(x, x_file, x_key), check_labels(y, len(x), y_file, y_key), x_file, y_file, y_key


def load_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """One array from a .npy file, or the array under `key` in a .npz file; never unpickles."""
    where = key or "<file>"
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            if key is not None:
                raise ConfigError(path, where, "is a .npy file holding one array; arrays under keys need a .npz")
            return loaded
        with loaded:
            if key is None:
                raise ConfigError(path, "<file>", f"is a .npz archive (keys: {', '.join(loaded.files)}); "
                                  "give it as train_file/test_file")  # fmt: skip
            if key not in loaded.files:
                raise ConfigError(path, where, f"no array {key!r} in the file (arrays: "
                                  f"{', '.join(loaded.files) or 'none'}); set x_key/y_key")  # fmt: skip
            return loaded[key]
    except ConfigError:
        raise
    except ValueError as exc:  # object arrays (pickles) and malformed headers
        reason = "holds Python objects (a pickle); save plain numeric or string arrays" if "pickle" in str(exc) \
            else f"not a NumPy array file: {exc}"  # fmt: skip
        raise ConfigError(path, where, reason) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ConfigError(path, where, f"unreadable: {exc}") from None


def check_inputs(x: np.ndarray, path: str | Path, key: str) -> np.ndarray:
    if x.ndim < 2:
        raise ConfigError(path, key, f"inputs need one row per sample and a feature axis, got shape {list(x.shape)}")
    if len(x) == 0:
        raise ConfigError(path, key, "no samples")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool) or np.iscomplexobj(x):
        raise ConfigError(path, key, f"inputs must be real numbers, not dtype {x.dtype}")
    finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1) if x.dtype.kind == "f" else None
    if finite is not None and not finite.all():
        raise ConfigError(path, f"{key}[{int(np.argmin(finite))}]", "not a finite number (NaN or infinity)")
    return x


def check_labels(y: np.ndarray, n: int, path: str | Path, key: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ConfigError(path, key, f"labels must be one per sample (shape [N]), got shape {list(y.shape)}")
    if len(y) != n:
        raise ConfigError(path, key, f"{len(y)} labels for {n} samples")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.round(y))
        if bad.any():
            i = int(np.argmax(bad))
            raise ConfigError(path, f"{key}[{i}]", f"label {y[i].item()!r} is not a class (whole number or name)")
    elif y.dtype.kind not in "iubUS":
        raise ConfigError(path, key, f"labels must be integers, booleans or strings, not dtype {y.dtype}")
    return y
