"""What a model is fed: latency requests drawn from the real test set, and accuracy batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from archbench.tasks.base import TaskData

LATENCY_INPUTS = 64  # distinct request batches cycled through while timing
TEXT_LATENCY_TEXTS = 8192  # text cost follows length: draw enough requests to cover the length distribution


def latency_batches(task: TaskData, profile: dict[str, Any], rng: np.random.Generator) -> list[Any]:
    """Batches of real test inputs at the profile's batch size (sampled with replacement)."""
    size = profile["batch_size"]
    if task.kind == "text":
        return text_latency_batches(task, size, rng)
    return [task.x_test[rng.integers(0, len(task.x_test), size)] for _ in range(LATENCY_INPUTS)]


def text_latency_batches(task: TaskData, size: int, rng: np.random.Generator) -> list[list[str]]:
    """Requests are real test texts drawn at random, so latency percentiles are over the real length
    distribution; with a fixed profile seq_len the runner pads or truncates them to that length.
    Plain str lists: fancy-indexing the fixed-width array would copy its widest text into every slot."""
    count = min(1024, max(LATENCY_INPUTS, TEXT_LATENCY_TEXTS // size))
    return [[str(t) for t in task.x_test[rng.integers(0, len(task.x_test), size)]] for _ in range(count)]


def accuracy_batches(task: TaskData, profile: dict[str, Any]) -> Iterator[np.ndarray]:
    """The whole test set in order, at the profile's batch size (the deployed configuration)."""
    size = max(profile["batch_size"], 1)
    for start in range(0, len(task.x_test), size):
        batch = task.x_test[start : start + size]
        yield batch.tolist() if task.kind == "text" else batch  # text: lists of str
