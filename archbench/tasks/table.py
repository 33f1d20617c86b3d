"""Tabular classification: numeric feature columns and a label column, from CSV (or Parquet with pyarrow).

The CSV reader is the one text files use (tasks/text_files.py read_table). Every feature cell must be a
finite number: a missing or non-numeric one is an error naming the file, the row and the column, never
silently imputed. Features are standardised with the training split's mean and standard deviation
(recorded in the task info, so the deployed model can be fed the same way). Inputs are float32 vectors
of shape (n_features,): the built-in mlp family fits them; the cnn family needs images (C, H, W).
Default slices: one per class (`class-<label>`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from archbench.config import TaskSpecBase
from archbench.errors import ConfigError
from archbench.rowids import record_row_ids
from archbench.tasks.base import TaskData, TaskKind
from archbench.tasks.classes import class_slices, encode_labels, label_text, split_indices
from archbench.tasks.text_files import Table, read_table, require_column

PARQUET_SUFFIXES = (".parquet", ".pq")


class TableTaskSpec(TaskSpecBase):
    """Numeric features and a label per row, from CSV/TSV (or Parquet when pyarrow is installed)."""

    kind: Literal["table"] = "table"
    train_file: str = Field(min_length=1)
    test_file: str | None = Field(None, description="absent: split train_file with seed and test_fraction")
    format: Literal["csv", "parquet"] | None = Field(None, description="default: from the file suffix")
    label_column: str = Field("label", min_length=1)
    feature_columns: list[str] | None = Field(None, min_length=1, description="default: every column but the label")
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    standardize: bool = Field(True, description="subtract the training mean, divide by the training std")

    @field_validator("feature_columns")
    @classmethod
    def _unique_columns(cls, columns: list[str] | None) -> list[str] | None:
        dupes = sorted({c for c in columns or [] if columns.count(c) > 1})  # type: ignore[union-attr]
        if dupes:
            raise ValueError(f"feature columns must be unique, repeated: {', '.join(dupes)}")
        return columns


class TableTask(TaskKind):
    name = "table"
    Spec = TableTaskSpec
    path_keys: ClassVar[dict[str, str]] = {"train_file": "data file", "test_file": "data file"}

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_table_task(spec, str(config_file))


def load_table_task(spec: Any, config_file: str = "<config>") -> TaskData:
    train = _read(Path(spec.train_file), spec.format)
    features = _feature_columns(spec, train, config_file)
    x, labels = _features_and_labels(train, features, spec.label_column)
    if spec.test_file is not None:
        test = _read(Path(spec.test_file), spec.format)
        x_test, test_labels = _features_and_labels(test, features, spec.label_column)
        rows = np.arange(len(test_labels))
        x_train, train_labels, tr = x, labels, np.arange(len(labels))
    else:
        test = train
        tr, rows = split_indices(labels, spec.test_fraction, spec.seed)
        x_train, x_test = x[tr], x[rows]
        train_labels, test_labels = [labels[i] for i in tr], [labels[i] for i in rows]
    names, y_train, y_test = encode_labels(train_labels, test_labels, train.path, test.path,
                                           lambda i: test.where(int(rows[i]), spec.label_column))  # fmt: skip
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # a constant column carries nothing: centre it, do not blow it up
    if spec.standardize:
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    info = {
        "source": [Path(spec.train_file).name] + ([Path(spec.test_file).name] if spec.test_file else []),
        "label_column": spec.label_column, "feature_columns": features, "labels": names,
        "split": "files" if spec.test_file else f"stratified {spec.test_fraction:g} of train_file, seed {spec.seed}",
        "standardize": {"mean": [float(v) for v in mean], "std": [float(v) for v in std]} if spec.standardize
                       else None,
        "slices": "default: one per class (class-<label>)",
        "feature_names": features,  # for reports that name a feature (check's drift report)
    }  # fmt: skip
    record_row_ids(info, train=tr, test=rows)  # 0-based data rows of train_file, and of the test rows' file
    return TaskData(f"table:{Path(spec.train_file).name}", "tensor", len(names),
                    x_train.astype(np.float32), y_train, x_test.astype(np.float32), y_test,
                    class_slices(y_test, names), info)  # fmt: skip


def _read(path: Path, declared: str | None) -> Table:
    fmt = declared or ("parquet" if path.suffix.lower() in PARQUET_SUFFIXES else None)
    if fmt == "parquet":
        return _read_parquet(path)
    if fmt is None and path.suffix.lower() not in (".csv", ".tsv", ".txt"):
        raise ConfigError(path, "task.format", f"cannot tell the format from suffix {path.suffix!r}: "
                          "set format: csv or parquet")  # fmt: skip
    return read_table(path, "csv")


def _read_parquet(path: Path) -> Table:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(path, "task.format", "reading Parquet needs pyarrow, which is not installed: "
                          "pip install pyarrow, or save the table as CSV") from None  # fmt: skip
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises its own error types for a damaged or foreign file
        raise ConfigError(path, "<file>", f"unreadable Parquet file: {exc}") from None
    rows = table.to_pylist()
    if not rows:
        raise ConfigError(path, "<file>", "no data rows")
    return Table(path, list(table.column_names), rows, list(range(1, len(rows) + 1)), "row")


def _feature_columns(spec: Any, table: Table, config_file: str) -> list[str]:
    require_column(table, spec.label_column, "task.label_column")
    if spec.feature_columns is None:
        features = [c for c in table.columns if c != spec.label_column]
        if not features:
            raise ConfigError(table.path, "<header>", f"no feature columns beside the label {spec.label_column!r}")
        return features
    for i, column in enumerate(spec.feature_columns):
        if column == spec.label_column:
            raise ConfigError(config_file, f"task.feature_columns.{i}", f"{column!r} is the label column")
        require_column(table, column, f"task.feature_columns.{i}")
    return list(spec.feature_columns)


def _features_and_labels(table: Table, features: list[str], label_column: str) -> tuple[np.ndarray, list[str]]:
    for column in [*features, label_column]:  # the test file must have the training file's columns
        require_column(table, column, "task.label_column" if column == label_column else "task.feature_columns")
    labels = []
    for i, row in enumerate(table.rows):
        value = row.get(label_column)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ConfigError(table.path, table.where(i, label_column), "missing label")
        labels.append(label_text(value))
    cells = [[row.get(c) for c in features] for row in table.rows]
    try:  # fast path: every cell parses; the slow path below finds the first one that does not
        x = np.array(cells, dtype=np.float64)
    except (TypeError, ValueError):
        x = None
    if x is None or not np.isfinite(x).all():
        _first_bad_cell(table, features)
    assert x is not None
    return x, labels


def _first_bad_cell(table: Table, features: list[str]) -> None:
    """Raise for the first missing, non-numeric or non-finite feature cell, by row and column."""
    for i, row in enumerate(table.rows):
        for column in features:
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise ConfigError(table.path, table.where(i, column), "missing value")
            if isinstance(value, bool):
                raise ConfigError(table.path, table.where(i, column), f"not a number: {value!r}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ConfigError(table.path, table.where(i, column), f"not a number: {value!r}") from None
            if not np.isfinite(number):
                raise ConfigError(table.path, table.where(i, column), f"not a finite number: {value!r}")
    raise ConfigError(table.path, "<file>", "feature values do not form a numeric table")
