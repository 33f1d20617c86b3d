"""Writes the example data sets next to this file (seeded, so they are the same every time; not committed).

    python examples/data/make_data.py

table/train.csv, table/test.csv   30 numeric features, label column `species` (3 classes)
images/<class>/*.png              16x16 grey images, 2 classes (which half is lit), random brightness
arrays/train.npz, arrays/test.npz x: (N, 2, 4, 4) float32, y: int labels (which channel is lifted)
The `import` example needs no files: myloader.py makes its arrays.

Test sets have >= 1,200 samples on purpose: a p95 latency verdict at 99% confidence may rest on no more
distinct requests than the test set has, and with ~150 the bound's upper end sits on the few slowest
calls (milliseconds on a shared core), so a 0.1 ms budget stays undecided.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPECIES = ("cat", "dog", "emu")


def table(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.normal(size=(n, 30)) * 3 + 10
    for k in range(3):
        x[y == k, 5 * k : 5 * k + 5] += 9  # each class lifts its own 5 features
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"f{i}" for i in range(30)] + ["species"])
        writer.writerows([[f"{v:.2f}" for v in row] + [SPECIES[k]] for row, k in zip(x, y, strict=True)])


def images(root: Path, per_class: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for kind in ("top", "left"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = np.zeros((16, 16))
            if kind == "top":
                img[:8] = 1
            else:
                img[:, :8] = 1
            img = rng.uniform(0.3, 1.0) * (0.4 + 0.6 * img) + rng.normal(0, 0.05, img.shape)
            Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(root / kind / f"{i:03d}.png")


def arrays(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2, 4, 4)).astype(np.float32)
    x[np.arange(n), y] += 1.5
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)


if __name__ == "__main__":
    table(HERE / "table" / "train.csv", 600, seed=0)
    table(HERE / "table" / "test.csv", 1200, seed=1)
    images(HERE / "images", per_class=1000, seed=0)
    arrays(HERE / "arrays" / "train.npz", 600, seed=0)
    arrays(HERE / "arrays" / "test.npz", 1200, seed=1)
