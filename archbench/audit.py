"""archbench audit: find samples whose given label the run's own models find far too unlikely.

A sample's loss (cross-entropy of its given label) far above the typical loss is the classic sign of a
wrong annotation. Each chosen model (default: every profile's front members) runs the cached build of
the sweep through its deployed runtime in a child (archbench/audit_child.py); a sample is flagged when
its loss is at least `threshold` times that model's median loss on the split, under every chosen model
(`agree="all"`, the default) or a strict majority of them (`agree="majority"`, the issue's first rule).
Why unanimity: on digits with 5% flipped labels (benchmarks/audit_flips.py, NOTES-audit.md) a clean
sample that one model gets wrong is rarely wrong under all of them, while a flipped one is: at threshold
10 precision on the test split rose from 0.40-0.52 to 0.68-0.90 for every model set measured, recall
from 1.00 to 0.96. Nothing is retrained. Writes audit.csv into the run directory, ranked by loss.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archbench import fmt
from archbench.errors import ArchbenchError
from archbench.rundata import RERUN, Model, Run

AUDIT_CSV = "audit.csv"
COLUMNS = ("row", "split", "label", "predicted", "loss", "loss_over_median", "models_agreeing", "flagged", "input")
# A model that fits its data well has a median loss near 0; ten times almost nothing flags everything. Below
# this floor (nats) the median is taken as the floor: a loss under threshold x floor is never suspicious.
MIN_MEDIAN_LOSS = 1e-3
MIN_AGREEMENT = 0.9  # recomputed test predictions vs the run's: below this the data or build is not the run's
PREVIEW_CHARS = 100
AGREE = ("all", "majority")  # how many of the chosen models must find a sample's loss too high

RunModel = Callable[..., tuple[dict[str, Any] | None, str | None]]


@dataclass
class AuditOutcome:
    rows: list[dict[str, Any]]  # every audited sample, ranked by loss (highest first)
    models: list[str]
    threshold: float
    agree: str
    splits: list[str]
    medians: dict[str, dict[str, float]]  # model -> split -> median loss
    per_slice: dict[str, tuple[int, int]]  # slice (or split) -> (flagged, samples)
    agreement: dict[str, float]  # model -> share of test predictions equal to the run's recorded ones
    row_ids_recorded: bool
    losses: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (models, samples), in split order
    predicted: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (models, samples) predicted class
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["flagged"]]


def flag(losses: np.ndarray, threshold: float,
         agree: str = "all") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """losses: (models, samples). -> (median per model, loss/median per model and sample, models agreeing,
    flagged: loss >= threshold x median under every model ("all") or a strict majority ("majority"))."""
    if agree not in AGREE:
        raise ValueError(f"agree must be one of {AGREE}, not {agree!r}")
    medians = np.maximum(np.median(losses, axis=1), MIN_MEDIAN_LOSS) if losses.size else np.zeros(len(losses))
    ratios = losses / medians[:, None]
    agreeing = (ratios >= threshold).sum(axis=0)
    needed = agreeing == len(losses) if agree == "all" else agreeing * 2 > len(losses)
    return medians, ratios, agreeing, needed & (len(losses) > 0)


def majority_vote(predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(models, samples) predicted classes -> the most common per sample (ties: the lowest class)."""
    counts = np.stack([(predicted == c).sum(axis=0) for c in range(num_classes)])
    return counts.argmax(axis=0)


def audit(run: Run, models: list[Model], splits: list[str], threshold: float,
          run_model: RunModel | None = None, agree: str = "all") -> AuditOutcome:  # fmt: skip
    from archbench.audit_child import run_model as default_runner
    from archbench.rowids import row_ids

    run_model = run_model or default_runner
    wanted = ["test", *(s for s in splits if s != "test")]  # test always: it proves the build and data are the run's
    scored = {m.label: _score(run, m, run_model, wanted) for m in models}
    agreement = {m.label: _agreement(run, m, scored[m.label]["test"]["predicted"]) for m in models}
    task, names = run.task, _label_names(run)
    rows: list[dict[str, Any]] = []
    medians: dict[str, dict[str, float]] = {m: {} for m in scored}
    per_slice: dict[str, tuple[int, int]] = {}
    all_losses: dict[str, np.ndarray] = {}
    all_predicted: dict[str, np.ndarray] = {}
    recorded = True
    for split in splits:
        x, y = (task.x_test, task.y_test) if split == "test" else (task.x_train, task.y_train)
        losses = np.array([scored[m][split]["loss"] for m in scored], dtype=np.float64).reshape(len(scored), len(y))
        all_losses[split] = losses
        med, ratios, agreeing, flagged = flag(losses, threshold, agree)
        for label, value in zip(scored, med, strict=True):
            medians[label][split] = float(value)
        all_predicted[split] = np.array([scored[m][split]["predicted"] for m in scored],
                                        dtype=np.int64).reshape(len(scored), len(y))  # fmt: skip
        pred = majority_vote(all_predicted[split], task.num_classes)
        ids, ok = row_ids(task.info, split, len(y))
        recorded &= ok
        for i in range(len(y)):
            rows.append({"row": ids[i], "split": split, "label": names[int(y[i])], "predicted": names[int(pred[i])],
                         "loss": float(losses[:, i].mean()), "loss_over_median": float(np.median(ratios[:, i])),
                         "models_agreeing": int(agreeing[i]), "flagged": bool(flagged[i]),
                         "input": preview(x[i])})  # fmt: skip
        per_slice[f"{split} (all)"] = (int(flagged.sum()), len(y))
        if split == "test":
            for name, idx in task.slices.items():
                per_slice[name] = (int(flagged[np.asarray(idx, dtype=np.int64)].sum()), len(idx))
    rows.sort(key=lambda r: -r["loss"])
    notes = [] if recorded else [f"row is the 0-based index within its split: the {run.spec.kind} task kind does "
                                 "not record source row ids (archbench/rowids.py)"]  # fmt: skip
    return AuditOutcome(rows, list(scored), threshold, agree, splits, medians, per_slice, agreement, recorded,
                        all_losses, all_predicted, notes)  # fmt: skip


def _score(run: Run, model: Model, run_model: RunModel, splits: list[str]) -> dict[str, Any]:
    build, profile = model.build.model_dump(mode="json"), model.profile.model_dump(mode="json")
    scored, error = run_model(run.task_path, model.candidate, model.result.variant, build, profile, splits)
    if scored is None:
        raise ArchbenchError(f"{run.path}: {model.label}: could not run the cached build: {error}")
    return scored


def _agreement(run: Run, model: Model, predicted: list[int]) -> float:
    recorded = model.result.predictions
    same = float(np.mean(np.asarray(predicted) == np.asarray(recorded))) if recorded else 1.0
    if same < MIN_AGREEMENT:
        raise ArchbenchError(f"{run.path}: {model.label}.predictions: the cached build now predicts {same:.0%} of "
                             f"the test set as the run recorded; the data or build changed; {RERUN}")  # fmt: skip
    return same


def _label_names(run: Run) -> list[str]:
    names = run.task.info.get("labels")
    if isinstance(names, list) and len(names) == run.task.num_classes:
        return [str(n) for n in names]
    return [str(i) for i in range(run.task.num_classes)]


def preview(sample: Any) -> str:
    """The input's text (shortened), or a short description of an array sample."""
    if isinstance(sample, str | np.str_):
        text = " ".join(str(sample).split())
        return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
    arr = np.asarray(sample, dtype=np.float64)
    head = " ".join(fmt.num(v) for v in arr.ravel()[:6])
    more = " …" if arr.size > 6 else ""
    return f"shape {'x'.join(map(str, arr.shape))} mean {fmt.num(arr.mean())}: {head}{more}"


def write_audit_csv(run: Run, outcome: AuditOutcome) -> Any:
    from archbench.report import atomic_write_text

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in outcome.rows:
        writer.writerow({**r, "loss": f"{r['loss']:.6g}", "loss_over_median": f"{r['loss_over_median']:.4g}",
                         "flagged": "yes" if r["flagged"] else "no"})  # fmt: skip
    return atomic_write_text(run.dir / AUDIT_CSV, buf.getvalue())


def summary_lines(outcome: AuditOutcome, top: int = 20) -> list[str]:
    lines = [f"audited {len(outcome.rows)} samples ({', '.join(outcome.splits)}) with {len(outcome.models)} "
             f"model(s): {', '.join(outcome.models)}",
             f"flagged: loss >= {outcome.threshold:g} x the model's median loss, under "
             + ("every chosen model" if outcome.agree == "all" else "a majority of the chosen models")]
    for m, by_split in outcome.medians.items():
        meds = ", ".join(f"{s} {fmt.num(v)}" for s, v in by_split.items())
        lines.append(f"  {m}: median loss {meds}; test predictions as recorded: {outcome.agreement[m]:.1%}")
    lines.append(f"top {min(top, len(outcome.rows))} by loss:")
    lines.append(f"  {'row':>6} {'split':5} {'label':>10} {'pred':>10} {'loss':>8} {'x med':>7} agree  input")
    for r in outcome.rows[:top]:
        mark = "*" if r["flagged"] else " "
        lines.append(f"{mark} {r['row']!s:>6} {r['split']:5} {r['label'][:10]:>10} {r['predicted'][:10]:>10} "
                     f"{fmt.num(r['loss']):>8} {fmt.num(r['loss_over_median']):>7} {r['models_agreeing']:>5}  "
                     f"{r['input'][:60]}")
    lines.append("flagged per slice:")
    lines += [f"  {name}: {k} of {n}" for name, (k, n) in outcome.per_slice.items()]
    return lines + [f"note: {n}" for n in outcome.notes]
