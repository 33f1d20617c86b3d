"""Class labels shared by the table, arrays, images and import task kinds: names, ids, per-class slices.

Labels may be any values the files hold (numbers, strings, booleans); they are named by their text,
sorted (numerically when every name is an integer), and numbered 0..k-1 in that order. A test label
the training data never shows is an error naming the file, the row and the value: a model cannot
predict a class it was never trained on, and silently dropping rows would flatter it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import ConfigError
from archbench.tasks.text import label_names

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def label_text(value: Any) -> str:
    """A label's name: integral floats read as integers (1.0 -> "1"), so CSV and .npy labels agree."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def encode_labels(train: Sequence[str], test: Sequence[str], train_file: str | Path, test_file: str | Path,
                  where: Callable[[int], str]) -> tuple[list[str], np.ndarray, np.ndarray]:  # fmt: skip
    """(names, train ids, test ids); `where(i)` names test row i for the unseen-label error."""
    names = label_names(list(train))
    if len(names) < 2:
        raise ConfigError(train_file, "<labels>", f"the training data has only one label {names}: nothing to classify")
    return names, ids_of(train, names, train_file, where), ids_of(test, names, test_file, where)


def ids_of(labels: Sequence[str], names: list[str], file: str | Path, where: Callable[[int], str],
           trained_on: str = "the training data", listed: str = "training labels") -> np.ndarray:  # fmt: skip
    """The class id of every label; a label the model never trained on is an error naming its row."""
    ids = {name: k for k, name in enumerate(names)}
    for i, label in enumerate(labels):
        if label not in ids:
            shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
            raise ConfigError(file, where(i), f"label {label!r} never appears in {trained_on} ({listed}: {shown})")
    return np.array([ids[label] for label in labels], dtype=np.int64)


def class_slices(y_test: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """One slice per class present in the test set, named `class-<label>` (usable in min_slice_accuracy:
    characters other than letters, digits, '_', '-', '.' become '_'; a clash gets a '-<id>' suffix)."""
    out: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        idx = np.flatnonzero(y_test == k)
        if not len(idx):
            continue
        slice_name = "class-" + _UNSAFE.sub("_", name)[:40]
        if slice_name in out:
            slice_name = f"{slice_name}-{k}"
        out[slice_name] = idx
    return out


def split_indices(labels: Sequence[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seeded stratified split text files use (tasks/text.py), for one file or folder split in two."""
    from archbench.tasks.text import stratified_split

    return stratified_split(list(labels), test_fraction, seed)
