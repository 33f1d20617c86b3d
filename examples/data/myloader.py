"""The user's own data loader for the import example: `target: "myloader:load_data"`."""

import numpy as np


def load_data(n: int = 2000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    x[np.arange(n), y] += 3.0  # class k lifts feature k
    names = np.array(["north", "east", "south", "west"])[y]
    cut = int(0.4 * n)  # a large test set: latency verdicts rest on its distinct requests
    return {"x_train": x[:cut], "y_train": names[:cut], "x_test": x[cut:], "y_test": names[cut:]}
