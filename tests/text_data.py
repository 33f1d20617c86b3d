"""Tiny synthetic text data for the text tests: two labels, short and long sentences, extra columns."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

POS = ["good", "great", "excellent", "lovely", "tasty", "fresh", "delicious", "superb"]
NEG = ["bad", "awful", "stale", "bland", "terrible", "soggy", "gross", "poor"]
FILLER = ["the", "this", "coffee", "tea", "snack", "was", "is", "really", "quite", "very", "and", "product", "box"]


def rows(n: int = 80, seed: int = 0) -> list[dict]:
    """Label decided by two sentiment words; half the sentences short (2-5 fillers), half long (15-30)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        fillers = rng.randint(2, 5) if i % 4 < 2 else rng.randint(15, 30)
        words = [rng.choice(POS if label == "pos" else NEG) for _ in range(2)]
        words += [rng.choice(FILLER) for _ in range(fillers)]
        rng.shuffle(words)
        out.append({"text": " ".join(words), "label": label, "source": "app" if i % 3 == 0 else "web",
                    "stars": i % 5 + 1})  # fmt: skip
    return out


def write_csv(path: Path, data: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)
    return path


def write_jsonl(path: Path, data: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
    return path


def write_split(root: Path, n: int = 80, n_test: int = 20) -> tuple[Path, Path]:
    """train.csv and test.csv under root (the test rows are the last n_test)."""
    data = rows(n)
    return write_csv(root / "train.csv", data[:-n_test]), write_csv(root / "test.csv", data[-n_test:])
