"""What a model is fed: latency requests drawn from the real test set, and accuracy batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from archbench.tasks.base import TaskData

LATENCY_INPUTS = 64  # distinct request batches cycled through while timing


def latency_batches(task: TaskData, profile: dict[str, Any], rng: np.random.Generator) -> list[np.ndarray]:
    """Batches of real test inputs at the profile's batch size (sampled with replacement)."""
    size = profile["batch_size"]
    return [task.x_test[rng.integers(0, len(task.x_test), size)] for _ in range(LATENCY_INPUTS)]


def accuracy_batches(task: TaskData, profile: dict[str, Any]) -> Iterator[np.ndarray]:
    """The whole test set in order, at the profile's batch size (the deployed configuration)."""
    size = max(profile["batch_size"], 1)
    for start in range(0, len(task.x_test), size):
        yield task.x_test[start : start + size]
