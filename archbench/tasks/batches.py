"""What a model is fed: latency requests drawn from the real test set, and accuracy batches.

The population a latency percentile is over is "requests drawn at random from the test set": a
request is one test input at batch size 1, or `batch_size` test inputs drawn together. A pool of
such requests is prepared before timing (outside the timed region); each timed call then takes a
pool entry drawn at random, so input-dependent cost (text length) is sampled as users send it. The
pool's size is reported (`distinct_requests`): a bound cannot rest on more independent requests
than that.

One class per input modality; a task kind names its modality (tasks/base.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from archbench.tasks.base import TaskData

MAX_POOL = 4096  # distinct requests prepared before timing
POOL_BYTES = 16 * 1024 * 1024  # tensor pools stay small beside the model (they count in the process's memory)
MIN_POOL = 64


class TensorInputs:
    def request_pool(self, task: TaskData, size: int, rng: np.random.Generator) -> list[Any]:
        n = len(task.x_test)
        if size == 1:  # every test input once, in random order (as many distinct requests as there are)
            return [task.x_test[i : i + 1] for i in rng.permutation(n)[:MAX_POOL]]
        per_batch = max(1, task.x_test[:size].nbytes)
        count = int(min(MAX_POOL, max(MIN_POOL, POOL_BYTES // per_batch)))
        return [task.x_test[rng.integers(0, n, size)] for _ in range(count)]

    def accuracy_batch(self, batch: np.ndarray) -> Any:
        return batch


class TextInputs:
    def request_pool(self, task: TaskData, size: int, rng: np.random.Generator) -> list[Any]:
        """Plain str lists: fancy-indexing the fixed-width array would copy its widest text into every slot."""
        n = len(task.x_test)
        if size == 1:
            return [[str(task.x_test[i])] for i in rng.permutation(n)[:MAX_POOL]]
        count = min(MAX_POOL, max(MIN_POOL, 8 * n // size))
        return [[str(t) for t in task.x_test[rng.integers(0, n, size)]] for _ in range(count)]

    def accuracy_batch(self, batch: np.ndarray) -> Any:
        return batch.tolist()


MODALITIES: dict[str, Any] = {"tensor": TensorInputs(), "text": TextInputs()}


def latency_batches(task: TaskData, batch_size: int, rng: np.random.Generator) -> list[Any]:
    """The pool of distinct requests at the profile's batch size (see the module docstring)."""
    return MODALITIES[task.kind].request_pool(task, batch_size, rng)


def accuracy_batches(task: TaskData, batch_size: int) -> Iterator[Any]:
    """The whole test set in order, at the profile's batch size (the deployed configuration)."""
    size = max(batch_size, 1)
    inputs = MODALITIES[task.kind]
    for start in range(0, len(task.x_test), size):
        yield inputs.accuracy_batch(task.x_test[start : start + size])
