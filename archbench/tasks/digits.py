"""The embedded default task: scikit-learn's bundled 8x8 digits (1,797 images, no download)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from archbench.config import TaskSpecBase
from archbench.rowids import record_row_ids
from archbench.tasks.base import TaskData, TaskKind


class DigitsTaskSpec(TaskSpecBase):
    kind: Literal["digits"] = "digits"
    test_fraction: float = Field(0.3, gt=0, lt=1)
    seed: int = Field(0, ge=0)


class DigitsTask(TaskKind):
    name = "digits"
    Spec = DigitsTaskSpec

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_digits_task(spec)


def load_digits_task(spec: Any) -> TaskData:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]  # (N, 1, 8, 8), scaled to [0, 1]
    y = digits.target.astype(np.int64)
    # Split the row numbers (same seed, same stratification: the same split as splitting the arrays), so each
    # sample's index in load_digits' arrays is known (archbench audit names it).
    tr, te = train_test_split(np.arange(len(y)), test_size=spec.test_fraction, random_state=spec.seed, stratify=y)
    x_tr, x_te, y_tr, y_te = x[tr], x[te], y[tr], y[te]
    # Slices: a hard subset (digits that are often confused) beside the rest, so per-slice budgets mean something.
    confusable = np.isin(y_te, [1, 7, 8, 9])
    slices = {"confusable": np.flatnonzero(confusable), "easy": np.flatnonzero(~confusable)}
    info = {"source": "sklearn.datasets.load_digits", "test_fraction": spec.test_fraction, "seed": spec.seed,
            "labels": [str(i) for i in range(10)],
            "slice_classes": {"confusable": [1, 7, 8, 9], "easy": [0, 2, 3, 4, 5, 6]}}  # fmt: skip
    record_row_ids(info, train=tr, test=te)
    return TaskData("digits", "tensor", 10, x_tr, y_tr, x_te, y_te, slices, info)
