"""Small generated, learnable data for the table, arrays, images and import task kinds (seeded)."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import numpy as np

CLASSES = ("cat", "dog", "emu")


def table_rows(n: int = 240, features: int = 30, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Three classes, each shifting its own 5 of the features by +2 (clearly learnable), plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(CLASSES)
    x = rng.normal(size=(n, features)) * 3 + 10  # an offset and scale for standardisation to undo
    for k in range(len(CLASSES)):
        x[y == k, 5 * k : 5 * k + 5] += 6
    return x, [CLASSES[k] for k in y]


def write_table_csv(path: Path, n: int = 240, features: int = 30, seed: int = 0) -> Path:
    x, labels = table_rows(n, features, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"f{i}" for i in range(features)] + ["species"])
        writer.writerows([[f"{v:.5f}" for v in row] + [label] for row, label in zip(x, labels, strict=True)])
    return path


def halves(kind: str, size: int, brightness: float, rng: np.random.Generator) -> np.ndarray:
    """An 8-bit grey image: the top half (horizontal) or left half (vertical) lit (the class; survives
    resizing), at a random overall brightness (a nuisance the brightness slices cut along)."""
    img = np.zeros((size, size))
    if kind == "horizontal":
        img[: size // 2, :] = 1
    else:
        img[:, : size // 2] = 1
    img = brightness * (0.4 + 0.6 * img) + rng.normal(0, 0.05, img.shape)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_image_folder(root: Path, per_class: int = 20, size: int = 12, seed: int = 0) -> Path:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for kind in ("horizontal", "vertical"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(halves(kind, size, rng.uniform(0.3, 1.0), rng)).save(root / kind / f"{i:03d}.png")
    return root


def arrays(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 2, 4, 4) inputs; the label is which channel carries the larger mean (learnable)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 2, 4, 4)).astype(np.float32)
    x[np.arange(n), y] += 1.5
    return x, y


LOADER = '''
import numpy as np


def load_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(size=(n, 8))
    x[np.arange(n), y] += 3.0  # class k lifts feature k
    names = np.array(["north", "east", "south", "west"])[y]
    cut = int(0.75 * n)
    return {"x_train": x[:cut], "y_train": names[:cut], "x_test": x[cut:], "y_test": names[cut:]}
'''

FACTORY = '''
from torch import nn


def make_net(n_features=30, n_classes=3, width=32):
    return nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_classes))
'''


def write_module(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path
