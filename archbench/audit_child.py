"""Run a cached build over a task's samples in its own child process: predicted class and loss per sample.

`python -m archbench.audit_child JOB.json OUT.json`. audit and check run a candidate's code (the user's
import factory, an ONNX file) just as the measuring child does, so they run it the same way: a fresh
interpreter in its own session, killed with its whole group on timeout, taken down if the parent dies,
its address space capped. The parent side reuses the measuring runner's machinery
(archbench/measure/runner.py); only the module the child runs differs. Nothing is trained here: the
model comes from the sweep's cached build.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

CHILD_TIMEOUT_S = 1800.0


def run_model(task_path: Path, candidate: dict[str, Any], variant: str, build: dict[str, Any],
              profile: dict[str, Any], splits: list[str], headroom_mb: float = 4096.0,
              timeout_s: float = CHILD_TIMEOUT_S) -> tuple[dict[str, Any] | None, str | None]:  # fmt: skip
    """({split: {"predicted": [...], "loss": [...]}}, None) or (None, why the child gave no answer)."""
    job = {"task_path": str(task_path), "candidate": candidate, "variant": variant, "build": build,
           "profile": profile, "splits": splits, "memory_headroom_mb": headroom_mb}  # fmt: skip
    payload, error = run_module_child("archbench.audit_child", job, timeout_s, profile.get("threads"))
    if payload is None:
        return None, error
    return payload["splits"], None


def run_module_child(module: str, job: dict[str, Any], timeout_s: float,
                     threads: int | None = None) -> tuple[dict[str, Any] | None, str | None]:  # fmt: skip
    """`python -m MODULE JOB OUT` with the measuring child's safety (guard, subreaper, timeout, rusage)."""
    from archbench.measure.runner import run_child

    outcome = run_child(None, job, timeout_s, threads, module=module)
    return outcome.payload, outcome.error


# ---- child side -----------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    from archbench.measure.runner import die_with_parent
    from archbench.measure.worker import describe_failure, write_json

    job_path, out_path = argv
    die_with_parent(Path(job_path).parent)  # first: a dead parent must not leave us running
    job = json.loads(Path(job_path).read_text())
    if job.get("profile", {}).get("cores"):
        os.sched_setaffinity(0, job["profile"]["cores"])
    try:
        answer: dict[str, Any] = {"ok": True, "splits": score_splits(job)}
    except BaseException as exc:
        answer = {"ok": False, "error": describe_failure(exc)}
    write_json(Path(out_path), answer)
    return 0


def score_splits(job: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """Every requested split through the deployed runtime, in order, at the profile's batch size."""
    from archbench.config import HardwareProfile
    from archbench.jobs import BuildOutput
    from archbench.measure.memory import limit_address_space
    from archbench.registry import candidate_kind, variant
    from archbench.tasks.base import TaskData
    from archbench.tasks.batches import MODALITIES

    task = TaskData.load(Path(job["task_path"]))
    build = BuildOutput.model_validate(job["build"])
    profile = HardwareProfile.model_validate(job["profile"])
    cand = job["candidate"]
    kind = candidate_kind(cand["kind"])()
    limit_address_space(job["memory_headroom_mb"] + kind.import_headroom_mb)
    adapter = kind.input_adapter(build, profile, task)
    runner = variant(job["variant"]).runner(build, lambda: kind.load_module(build, cand, task), adapter, profile)
    inputs = MODALITIES[task.kind]
    size = max(profile.batch_size, 1)
    out = {}
    for split in job["splits"]:
        x, y = (task.x_test, task.y_test) if split == "test" else (task.x_train, task.y_train)
        chunks = [runner.logits(runner(runner.prepare(inputs.accuracy_batch(x[i : i + size]))))
                  for i in range(0, len(x), size)]  # fmt: skip
        logits = np.concatenate(chunks).astype(np.float64) if chunks else np.zeros((0, task.num_classes))
        out[split] = {"predicted": logits.argmax(axis=-1).astype(int).tolist(),
                      "loss": label_loss(logits, np.asarray(y)).tolist()}  # fmt: skip
    return out


def label_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of the given label per sample: logsumexp(logits) - logit[label], computed stably."""
    top = logits.max(axis=-1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(logits - top).sum(axis=-1))
    return lse - logits[np.arange(len(labels)), labels]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
