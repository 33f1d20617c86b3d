"""archbench check: does the chosen model still hold on a new labelled batch, overall and per slice?

The batch (read in the task's own format, archbench/checkbatch.py) is scored by the run's cached build
through its deployed runtime, in a child (archbench/audit_child.py). Each slice's metric on the batch,
with its interval at the profile's confidence, is set beside the test set's recorded value:
- "dropped": the batch's whole interval lies below (test value - tolerance);
- "ok": the batch's lower end is at or above (test value - tolerance);
- "too few samples to tell": the interval straddles that line.
The batch's input shift (archbench/drift.py) gives a drop its likely reason. Writes check.md and
check.json into the run directory only once everything was read and scored.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archbench import fmt
from archbench.audit import RunModel
from archbench.errors import ArchbenchError
from archbench.rundata import Model, Run

CHECK_MD, CHECK_JSON = "check.md", "check.json"
OK, DROPPED, UNDECIDED, EMPTY = "ok", "dropped", "too few samples to tell", "no samples in the batch"


@dataclass
class SliceCheck:
    name: str
    test: dict[str, float]  # {value, low, high, n}
    batch: dict[str, float]  # {value, low, high, n}
    status: str


@dataclass
class CheckOutcome:
    batch: str
    model: str
    profile: str
    metric: str
    confidence: float
    tolerance: float
    slices: list[SliceCheck]  # "overall" first
    shift: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> list[str]:
        return [s.name for s in self.slices if s.status == DROPPED]


def decide(test_value: float, low: float, high: float, n: int, tolerance: float) -> str:
    if n == 0:
        return EMPTY
    line = test_value - tolerance
    if high < line:
        return DROPPED
    return OK if low >= line else UNDECIDED


def check(run: Run, model: Model, batch_path: Path, tolerance: float,
          run_model: RunModel | None = None) -> CheckOutcome:  # fmt: skip
    from archbench.audit_child import run_model as default_runner
    from archbench.checkbatch import read_batch
    from archbench.drift import input_shift
    from archbench.measure.accuracy import score

    batch = read_batch(batch_path, run.spec, run.task, run.config_file)
    with tempfile.TemporaryDirectory(prefix="archbench-check-") as tmp:
        task_path = Path(tmp) / "batch.npz"
        batch.as_task(run.task).save(task_path)
        build, profile = model.build.model_dump(mode="json"), model.profile.model_dump(mode="json")
        scored, error = (run_model or default_runner)(task_path, model.candidate, model.result.variant, build,
                                                      profile, ["test"])  # fmt: skip
    if scored is None:
        raise ArchbenchError(f"{run.path}: {model.label}: could not run the cached build: {error}")
    pred = np.asarray(scored["test"]["predicted"], dtype=np.int64)
    conf, metric, r = model.profile.measure.confidence, run.task.metric, model.result
    overall, per_slice = score(batch.y, pred, run.task.num_classes, batch.slices, metric, conf)
    low, high = r.accuracy_interval or [float("nan"), float("nan")]
    test_overall = {"value": r.accuracy, "low": low, "high": high, "n": len(r.predictions)}
    rows = [SliceCheck("overall", test_overall, overall,
                       decide(float(r.accuracy or 0.0), overall["low"], overall["high"], overall["n"], tolerance))]
    for name, got in per_slice.items():
        rec = r.slice_accuracy.get(name)
        if rec is None:
            continue
        test = {"value": rec["accuracy"], "low": rec["low"], "high": rec["high"], "n": rec["n"]}
        mine = {"value": got["accuracy"], "low": got["low"], "high": got["high"], "n": got["n"]}
        rows.append(SliceCheck(name, test, mine, decide(rec["accuracy"], got["low"], got["high"], got["n"], tolerance)))
    shift = input_shift(run.task, run.spec, batch.x, batch.y)
    return CheckOutcome(str(batch_path), model.label, model.profile.name, metric, conf, tolerance, rows, shift,
                        batch.notes)  # fmt: skip


def _cell(d: dict[str, float]) -> str:
    if d.get("value") is None or d.get("n", 0) == 0 or not np.isfinite(d["value"]):
        return "–"
    return f"{d['value']:.1%} [{d['low']:.1%}, {d['high']:.1%}] (n={int(d['n'])})"


def markdown(o: CheckOutcome) -> str:
    verdict = f"**{len(o.dropped)} slice(s) dropped**: {', '.join(o.dropped)}" if o.dropped else "**no slice dropped**"
    lines = [
        f"## archbench check: {o.model} on `{Path(o.batch).name}`",
        "",
        f"{verdict} (tolerance {o.tolerance:g}; intervals: each end one-sided at {o.confidence:g}; profile "
        f"{o.profile}; metric {o.metric} overall, accuracy per slice).",
        "",
        "| slice | test set | batch | verdict |",
        "|---|---|---|---|",
        *[f"| {s.name} | {_cell(s.test)} | {_cell(s.batch)} | {s.status} |" for s in o.slices],
        "",
        "### Input shift (batch vs test set)",
        "",
        f"Likely reason: {o.shift['likely_reason']}.",
        "",
    ]
    if "lengths" in o.shift:
        ln = o.shift["lengths"]
        b, t = ln["batch"], ln["test"]
        lines += [f"- length ({ln['unit']}): median {fmt.num(b['median'])} vs {fmt.num(t['median'])}, p95 "
                  f"{fmt.num(b['p95'])} vs {fmt.num(t['p95'])}; KS {ln['ks']:.3f} (p {fmt.num(ln['ks_p'], 2)})"]
    for f in o.shift.get("features", []):
        means = f"mean {fmt.num(f['batch_mean'])} vs {fmt.num(f['test_mean'])}"
        lines.append(f"- {f['feature']}: SMD {f['smd']:+.2f} ({means})")
    lines += [f"- label {x['label']}: {x['batch_share']:.1%} of the batch vs {x['test_share']:.1%} of the test set"
              for x in o.shift["labels"][:3]]  # fmt: skip
    lines += [f"- note: {n}" for n in o.notes]
    return "\n".join(lines) + "\n"


def write_check(run: Run, outcome: CheckOutcome) -> tuple[Path, Path]:
    from archbench.report import atomic_write_json, atomic_write_text

    doc = {**asdict(outcome), "dropped": outcome.dropped}
    return (atomic_write_text(run.dir / CHECK_MD, markdown(outcome)),
            atomic_write_json(run.dir / CHECK_JSON, doc))  # fmt: skip


def summary_lines(o: CheckOutcome) -> list[str]:
    lines = [f"{o.model} on {o.batch} (profile {o.profile}, tolerance {o.tolerance:g})"]
    lines += [f"  {s.name:<14} test {_cell(s.test):<34} batch {_cell(s.batch):<34} {s.status}" for s in o.slices]
    lines.append(f"likely reason: {o.shift['likely_reason']}")
    return lines + [f"note: {n}" for n in o.notes]

