"""How well `archbench audit` finds wrong labels: the digits with 5% of their labels flipped (seeded).

A toy task kind (`flipped-digits`, registered here) loads scikit-learn's digits, replaces the label of a
seeded 5% of the rows by another class, splits them, and records each sample's source row
(archbench/rowids.py) and which rows were flipped. A real sweep trains the candidates on the noisy
labels; the audit (cached builds, no retraining) then flags samples; precision and recall against the
flipped rows are printed at the default threshold and over thresholds 3-30, per split.

    PYTHONPATH=$PWD ARCHBENCH_CACHE=/tmp/x-cache python -m benchmarks.audit_flips [--epochs 30]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from archbench.config import TaskSpecBase
from archbench.tasks.base import TaskData, TaskKind

THRESHOLDS = (3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30)
CANDIDATES = """
task: {{kind: flipped-digits, flip_fraction: {flip}, seed: {seed}}}
train: {{epochs: {epochs}, lr: 0.003, batch_size: 64, seed: 0}}
candidates:
  - {{name: mlp, kind: builtin, family: mlp, params: {{hidden: [64]}}, variants: [onnx]}}
  - {{name: mlp-wide, kind: builtin, family: mlp, params: {{hidden: [128, 64]}}, variants: [onnx]}}
  - {{name: cnn, kind: builtin, family: cnn, params: {{channels: [16], hidden: 64}}, variants: [onnx]}}
"""
PROFILE = """
name: bench
device: cpu
threads: 1
batch_size: 16
budget: {latency_ms: 1000, percentile: p90}
measure: {max_seconds: 0.2, min_samples: 20, max_samples: 200, warmup: 2, timeout_s: 300}
"""


class FlippedDigitsSpec(TaskSpecBase):
    kind: Literal["flipped-digits"] = "flipped-digits"
    flip_fraction: float = Field(0.05, ge=0, lt=1)
    seed: int = Field(0, ge=0)
    test_fraction: float = Field(0.3, gt=0, lt=1)


class FlippedDigits(TaskKind):
    name = "flipped-digits"
    Spec = FlippedDigitsSpec

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        from archbench.rowids import record_row_ids

        digits = load_digits()
        x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
        y = digits.target.astype(np.int64).copy()
        rng = np.random.default_rng(spec.seed)
        flipped = np.sort(rng.choice(len(y), size=round(spec.flip_fraction * len(y)), replace=False))
        y[flipped] = (y[flipped] + rng.integers(1, 10, size=len(flipped))) % 10  # always another class
        tr, te = train_test_split(np.arange(len(y)), test_size=spec.test_fraction, random_state=spec.seed,
                                  stratify=digits.target)  # fmt: skip
        info: dict[str, Any] = {"labels": [str(i) for i in range(10)], "flipped_rows": flipped.tolist()}
        record_row_ids(info, train=tr, test=te)
        slices = {"confusable": np.flatnonzero(np.isin(y[te], [1, 7, 8, 9])),
                  "easy": np.flatnonzero(~np.isin(y[te], [1, 7, 8, 9]))}  # fmt: skip
        return TaskData("flipped-digits", "tensor", 10, x[tr], y[tr], x[te], y[te], slices, info)


def register() -> None:
    from archbench.registry import register_task_kind

    register_task_kind("flipped-digits", "benchmarks.audit_flips:FlippedDigits")


def flipped_run(root: Path, epochs: int = 30, flip: float = 0.05, seed: int = 0, candidates: int = 3) -> Path:
    """A finished sweep of the flipped digits under root/results/flips; returns its run directory."""
    from archbench.cache import Cache
    from archbench.config import load_profile, load_sweep_config
    from archbench.sweep import Sweep

    register()
    cands = root / "flips.yaml"
    text = CANDIDATES.format(flip=flip, seed=seed, epochs=epochs)
    cands.write_text("\n".join(text.splitlines()[: 4 + candidates]) + "\n")  # the first `candidates` of them
    prof = root / "bench.yaml"
    prof.write_text(PROFILE)
    sweep = Sweep(load_sweep_config(cands), [load_profile(prof)], root / "results", Cache(), run_id="flips",
                  config_file=str(cands))  # fmt: skip
    return sweep.run().run_dir


def precision_recall(flagged_rows: set[int], truth: set[int]) -> tuple[float, float]:
    hits = len(flagged_rows & truth)
    return (hits / len(flagged_rows) if flagged_rows else float("nan"), hits / len(truth) if truth else float("nan"))


def curve(outcome: Any, task: TaskData) -> dict[str, list[tuple[float, int, float, float]]]:
    """split -> [(threshold, flagged, precision, recall)], from the audit's per-model losses."""
    from archbench.audit import flag
    from archbench.rowids import row_ids

    truth = set(task.info["flipped_rows"])
    out: dict[str, list[tuple[float, int, float, float]]] = {}
    for split, losses in outcome.losses.items():
        ids, _ = row_ids(task.info, split, losses.shape[1])
        in_split = truth & set(ids)
        rows = []
        for t in THRESHOLDS:
            flagged = flag(losses, t)[3]
            picked = {ids[i] for i in np.flatnonzero(flagged)}
            rows.append((t, len(picked), *precision_recall(picked, in_split)))
        out[split] = rows
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", choices=["front", "all"], default="front", help="the front's, or every one")
    args = parser.parse_args()
    from archbench.audit import audit
    from archbench.cache import Cache
    from archbench.rundata import front_labels, load_models, open_run

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = flipped_run(Path(tmp), args.epochs, args.flip, args.seed)
        run = open_run(run_dir, Cache())
        every = list(dict.fromkeys(f"{r.candidate}/{r.variant}" for r in run.results if r.status == "ok"))
        models = load_models(run, front_labels(run) if args.models == "front" else every)
        outcome = audit(run, models, ["test", "train"], 10.0)
        truth = run.task.info["flipped_rows"]
        print(f"flipped {len(truth)} of 1797 labels ({args.flip:.0%}, seed {args.seed}); models: "
              f"{', '.join(outcome.models)}; accuracy on the noisy test labels: "
              + ", ".join(f"{m.label} {m.result.accuracy:.3f}" for m in models))  # fmt: skip
        for m, meds in outcome.medians.items():
            print(f"  {m}: median loss " + ", ".join(f"{s} {v:.3g}" for s, v in meds.items()))
        for split, rows in curve(outcome, run.task).items():
            n_true = len(set(truth) & set(run.task.info["row_ids"][split]))
            print(f"{split}: {n_true} flipped of {outcome.losses[split].shape[1]}")
            print(f"  {'threshold':>9} {'flagged':>7} {'precision':>9} {'recall':>6}")
            for t, k, p, r in rows:
                mark = "  <- default" if t == 10 else ""
                print(f"  {t:>9g} {k:>7} {p:>9.3f} {r:>6.3f}{mark}")


if __name__ == "__main__":
    main()
