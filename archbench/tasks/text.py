"""Text classification from the user's own CSV/JSONL files: splits, labels, slices, as TaskData."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from archbench.errors import ConfigError
from archbench.rowids import record_row_ids
from archbench.tasks.base import TaskData, TaskKind
from archbench.tasks.text_files import read_table, texts_and_labels
from archbench.tasks.text_slices import default_slices, select_slices, token_lengths, word_lengths
from archbench.tasks.text_spec import TextTaskSpec


class TextTask(TaskKind):
    name = "text"
    Spec = TextTaskSpec
    modality = "text"
    path_keys: ClassVar[dict[str, str]] = {"train_file": "data file", "test_file": "data file",
                                           "length_tokenizer": "any"}  # fmt: skip

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_text_task(spec, str(config_file))


def load_text_task(spec: Any, config_file: str = "<config>") -> TaskData:
    train_table = read_table(Path(spec.train_file), spec.format)
    texts, labels = texts_and_labels(train_table, spec.text_column, spec.label_column)
    if spec.test_file is not None:
        test_table = read_table(Path(spec.test_file), spec.format)
        test_texts, test_labels = texts_and_labels(test_table, spec.text_column, spec.label_column)
        train_idx, test_idx = np.arange(len(texts)), np.arange(len(test_texts))
    else:
        test_table, test_texts, test_labels = train_table, texts, labels
        train_idx, test_idx = stratified_split(labels, spec.test_fraction, spec.seed)
    rng = np.random.default_rng(spec.seed)
    train_idx = _subsample(train_idx, spec.max_train, rng)
    test_idx = _subsample(test_idx, spec.max_test, rng)

    names = label_names([labels[i] for i in train_idx])
    if len(names) < 2:
        raise ConfigError(train_table.path, "task.label_column", f"the training data has only one label {names}")
    ids = {name: k for k, name in enumerate(names)}
    for i in test_idx:
        if test_labels[i] not in ids:
            raise ConfigError(test_table.path, test_table.where(i, spec.label_column),
                              f"label {test_labels[i]!r} never appears in the training data "
                              f"(training labels: {', '.join(names[:20])})")  # fmt: skip

    x_test = [test_texts[i] for i in test_idx]
    tokens, unit = token_lengths(x_test, spec.length_tokenizer)
    words = word_lengths(x_test)
    if spec.slices is None:
        slices = default_slices(tokens)
    else:
        rows = [test_table.rows[i] for i in test_idx]
        slices = select_slices(spec.slices, rows, test_table.columns, tokens, words, config_file, test_table.path)
    info = {
        "source": [Path(spec.train_file).name] + ([Path(spec.test_file).name] if spec.test_file else []),
        "text_column": spec.text_column, "label_column": spec.label_column, "labels": names,
        "split": "files" if spec.test_file else f"stratified {spec.test_fraction:g} of train_file, seed {spec.seed}",
        "length_unit": unit,
        "test_length": {"p50": float(np.median(tokens)), "p95": float(np.percentile(tokens, 95)),
                        "max": int(tokens.max())},
        "slices": "default: short (<= median tokens) / long" if spec.slices is None
                  else [s.model_dump(mode="json") for s in spec.slices],
    }  # fmt: skip
    # 0-based data rows (CSV: header not counted; JSONL: non-blank lines) of train_file and of the test
    # rows' own file (test_file when given, else train_file)
    record_row_ids(info, train=train_idx, test=test_idx)
    return TaskData(
        f"text:{Path(spec.train_file).name}", "text", len(names),
        np.array([texts[i] for i in train_idx], dtype=str), np.array([ids[labels[i]] for i in train_idx]),
        np.array(x_test, dtype=str), np.array([ids[test_labels[i]] for i in test_idx]), slices, info,
    )  # fmt: skip


def label_names(labels: list[str]) -> list[str]:
    """Sorted label names; numerically when every label is an integer ("2" before "10")."""
    unique = set(labels)
    try:
        return sorted(unique, key=int)
    except ValueError:
        return sorted(unique)


def stratified_split(labels: list[str], test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split keeping each label's share; a label with >= 2 rows has rows on both sides."""
    rng = np.random.default_rng(seed)
    arr = np.array(labels)
    train, test = [], []
    for name in sorted(set(labels)):
        idx = rng.permutation(np.flatnonzero(arr == name))
        n_test = round(test_fraction * len(idx))
        if len(idx) >= 2:
            n_test = min(max(n_test, 1), len(idx) - 1)
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)).astype(np.int64), np.sort(np.concatenate(test)).astype(np.int64)


def _subsample(idx: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    if limit is None or len(idx) <= limit:
        return idx
    return np.sort(rng.choice(idx, size=limit, replace=False))


__all__ = ["TextTask", "load_text_task", "stratified_split"]
