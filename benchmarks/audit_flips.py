"""How well `archbench audit` finds wrong labels: the digits with 5% of their labels flipped (seeded).

A toy task kind (`flipped-digits`, registered here) loads scikit-learn's digits, replaces the label of a
seeded 5% of the rows by another class, splits them, and records each sample's source row
(archbench/rowids.py) and which rows were flipped. A real sweep trains the candidates on the noisy
labels; the audit (cached builds, no retraining) then flags samples; precision and recall against the
flipped rows are printed over thresholds 3-30, per split, for archbench audit's rule (a loss >= threshold x
the model's median loss under every chosen model: "all") beside the alternatives measured for it
("majority": a strict majority, the issue's first rule; a per-class median; a majority whose vote is
another class). The default run (four candidates, 40 epochs) takes about 5 minutes on 2 idle cores;
`--candidates mlp,mlp-wide,cnn,cnn-small,cnn-large,mlp-deep --sets ...` adds the large ones.

    PYTHONPATH=$PWD ARCHBENCH_CACHE=/tmp/x-cache python -m benchmarks.audit_flips [--epochs 40] [--save x.npz]
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
  - {{name: cnn-small, kind: builtin, family: cnn, params: {{channels: [8, 16], hidden: 32}}, variants: [onnx]}}
  - {{name: cnn-large, kind: builtin, family: cnn, params: {{channels: [32, 64, 128], hidden: 128}}, variants: [onnx]}}
  - {{name: mlp-deep, kind: builtin, family: mlp, params: {{hidden: [256, 256, 256, 256]}}, variants: [onnx]}}
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


def flipped_run(root: Path, epochs: int = 30, flip: float = 0.05, seed: int = 0,
                candidates: int | list[str] = 3) -> Path:  # fmt: skip
    """A finished sweep of the flipped digits under root/results/flips; returns its run directory.
    candidates: the first n of CANDIDATES, or their names."""
    from archbench.cache import Cache
    from archbench.config import load_profile, load_sweep_config
    from archbench.sweep import Sweep

    register()
    cands = root / "flips.yaml"
    head, *lines = CANDIDATES.format(flip=flip, seed=seed, epochs=epochs).strip("\n").split("\n  - ")
    if isinstance(candidates, int):
        chosen = lines[:candidates]
    else:
        chosen = [ln for ln in lines if ln.split(",")[0].removeprefix("{name: ") in candidates]
    cands.write_text(head + "".join(f"\n  - {ln}" for ln in chosen) + "\n")
    prof = root / "bench.yaml"
    prof.write_text(PROFILE)
    sweep = Sweep(load_sweep_config(cands), [load_profile(prof)], root / "results", Cache(), run_id="flips",
                  config_file=str(cands))  # fmt: skip
    return sweep.run().run_dir


def precision_recall(flagged_rows: set[int], truth: set[int]) -> tuple[float, float]:
    hits = len(flagged_rows & truth)
    return (hits / len(flagged_rows) if flagged_rows else float("nan"), hits / len(truth) if truth else float("nan"))


def rule_flags(rule: str, losses: np.ndarray, predicted: np.ndarray, labels: np.ndarray, t: float) -> np.ndarray:
    """The flags of one candidate rule (losses, predicted: (models, samples); labels: the given ones)."""
    from archbench.audit import MIN_MEDIAN_LOSS, flag, majority_vote

    if rule in ("all", "majority"):  # archbench audit's default, and the first definition
        return flag(losses, t, rule)[3]
    if rule == "class-median-majority":  # the median among the samples given the same label
        ratios = np.zeros_like(losses)
        for c in np.unique(labels):
            cols = labels == c
            med = np.maximum(np.median(losses[:, cols], axis=1), MIN_MEDIAN_LOSS)
            ratios[:, cols] = losses[:, cols] / med[:, None]
        return (ratios >= t).sum(axis=0) * 2 > len(losses)
    if rule == "majority+vote-disagrees":  # and the models' majority vote is another class
        vote = majority_vote(predicted, int(max(predicted.max(), labels.max())) + 1)
        return flag(losses, t, "majority")[3] & (vote != labels)
    raise ValueError(rule)


RULES = ("all", "majority", "class-median-majority", "majority+vote-disagrees")


def curve(losses: np.ndarray, predicted: np.ndarray, labels: np.ndarray, ids: list[int], truth: set[int],
          rule: str = "all") -> list[tuple[float, int, float, float]]:  # fmt: skip
    """[(threshold, flagged, precision, recall)] of one rule on one split."""
    in_split = truth & set(ids)
    rows = []
    for t in THRESHOLDS:
        picked = {ids[i] for i in np.flatnonzero(rule_flags(rule, losses, predicted, labels, t))}
        rows.append((t, len(picked), *precision_recall(picked, in_split)))
    return rows


def print_curves(saved: dict[str, Any], sets: str) -> None:
    """The precision/recall table of every rule, for all models and each subset in `sets` ('a,b;c,d')."""
    models, truth = [str(m) for m in saved["models"]], set(saved["truth"].tolist())
    subsets = [models] + [[m for m in models if m.split("/")[0] in s.split(",")] for s in sets.split(";") if s]
    for subset in subsets:
        pick = [models.index(m) for m in subset]
        for rule in RULES:
            print(f"\nmodels {', '.join(subset)}; rule {rule}")
            for split in ("test", "train"):
                ids = saved[f"ids_{split}"].tolist()
                rows = curve(saved[f"loss_{split}"][pick], saved[f"pred_{split}"][pick], saved[f"label_{split}"], ids,
                             truth, rule)  # fmt: skip
                print(f"  {split}: {len(truth & set(ids))} flipped of {len(ids)}   threshold: flagged P/R")
                print("    " + "  ".join(f"{t:g}: {k} {p:.2f}/{r:.2f}" for t, k, p, r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--flip", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", default="mlp,mlp-wide,cnn,cnn-small",
                        help="comma-separated names from CANDIDATES (trained once, audited together)")
    parser.add_argument("--sets", default="", help="semicolon-separated model subsets to audit too, e.g. "
                        "'mlp,mlp-wide;cnn-small,cnn-large' (default: just all of them)")
    parser.add_argument("--save", type=Path, help="write the per-model losses and predictions here (.npz)")
    parser.add_argument("--load", type=Path, help="no sweep: the tables from a file --save wrote")
    args = parser.parse_args()
    if args.load:
        with np.load(args.load) as z:
            print_curves(dict(z), args.sets)
        return
    from archbench.audit import audit
    from archbench.cache import Cache
    from archbench.rundata import load_models, open_run

    with tempfile.TemporaryDirectory() as tmp:
        run_dir = flipped_run(Path(tmp), args.epochs, args.flip, args.seed, args.candidates.split(","))
        run = open_run(run_dir, Cache())
        every = list(dict.fromkeys(f"{r.candidate}/{r.variant}" for r in run.results if r.status == "ok"))
        models = load_models(run, every)
        outcome = audit(run, models, ["test", "train"], 10.0)  # the threshold does not matter: curves below
    truth = set(run.task.info["flipped_rows"])
    print(f"flipped {len(truth)} of 1797 labels ({args.flip:.0%}, seed {args.seed}); {args.epochs} epochs; "
          "accuracy on the noisy test labels: " + ", ".join(f"{m.label} {m.result.accuracy:.3f}" for m in models))
    for m, meds in outcome.medians.items():
        print(f"  {m}: median loss " + ", ".join(f"{s} {v:.3g}" for s, v in meds.items()))
    labels = {"test": run.task.y_test, "train": run.task.y_train}
    saved = {"models": np.array(outcome.models), "truth": np.array(sorted(truth))}
    for split in ("test", "train"):
        saved.update({f"loss_{split}": outcome.losses[split], f"pred_{split}": outcome.predicted[split],
                      f"label_{split}": labels[split], f"ids_{split}": np.array(run.task.info["row_ids"][split])})
    if args.save:
        np.savez(args.save, **saved)
    print_curves(saved, args.sets)


if __name__ == "__main__":
    main()
