"""Plan a sweep: the task's data on disk, the (candidate, variant, profile) jobs, and their cache keys.

A key is the hash of everything that changes what it names, so an unchanged sweep rebuilds and
re-measures nothing and changing one thing redoes exactly what depends on it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archbench.cache import Cache, content_key
from archbench.config import CandidateBase, HardwareProfile, SweepConfig
from archbench.errors import ConfigError
from archbench.jobs import JOB_SCHEMA, MEASURE_SCHEMA


@dataclass(frozen=True)
class Job:
    candidate: Any  # a config candidate spec
    variant: str
    profile: HardwareProfile

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.candidate.name, self.variant, self.profile.name)

    @property
    def label(self) -> str:
        return f"{self.candidate.name}/{self.variant}@{self.profile.name}"


@dataclass(frozen=True)
class PreparedTask:
    """The task's arrays saved once in the cache (children load them), and what scoring needs."""

    path: Path
    fingerprint: str
    y_test: np.ndarray
    slices: dict[str, np.ndarray]
    num_classes: int
    metric: str
    sample_shape: tuple[int, ...]


def plan(config: SweepConfig, profiles: list[HardwareProfile]) -> list[Job]:
    return [Job(c, v, p) for p in profiles for c in config.candidates for v in c.variants]


def prepare_task(config: SweepConfig, profiles: list[HardwareProfile], cache: Cache,
                 config_file: str | Path) -> PreparedTask:  # fmt: skip
    """Load the task's data (the kind's loader), save it by content, check the profiles fit it."""
    from archbench.tasks import load_task

    task = load_task(config.task, config_file)
    fingerprint = task.fingerprint()
    path = cache.data_path(fingerprint)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        task.save(path)
    for p in profiles:
        if p.input_shape is not None and tuple(p.input_shape) != task.sample_shape:
            raise ConfigError(p.name, "input_shape", f"{p.input_shape} does not fit the task's "
                              f"inputs {list(task.sample_shape)}")  # fmt: skip
        for name in p.budget.min_slice_accuracy:  # a typo would otherwise make every candidate infeasible
            if name not in task.slices:
                raise ConfigError(p.name, f"budget.min_slice_accuracy.{name}", f"the task has no slice {name!r} "
                                  f"(slices: {', '.join(sorted(task.slices)) or 'none'})")  # fmt: skip
    return PreparedTask(path, fingerprint, task.y_test, task.slices, task.num_classes, task.metric, task.sample_shape)


def cuda_available() -> tuple[bool, str]:
    """Cheap test first (device nodes), then ask torch; never raises."""
    if not any(Path("/dev").glob("nvidia[0-9]*")) and not os.environ.get("CUDA_VISIBLE_DEVICES"):
        return False, "no CUDA device on this machine"
    try:
        import torch

        if torch.cuda.is_available():
            return True, ""
        return False, "torch sees no CUDA device (CPU-only build or no driver)"
    except Exception as exc:  # a broken driver must not crash the sweep
        return False, f"CUDA check failed: {exc}"


def unrunnable_profiles(profiles: list[HardwareProfile]) -> dict[str, str]:
    """Profiles this machine cannot run, and why (a cuda profile without CUDA)."""
    if not any(p.device == "cuda" for p in profiles):
        return {}
    ok, why = cuda_available()
    return {} if ok else {p.name: f"profile skipped: {why}" for p in profiles if p.device == "cuda"}


def spec_key(job: Job, config: SweepConfig, task_fp: str) -> str:
    """Everything a finished result of this job depends on, for resuming a run directory."""
    return content_key(
        "job", JOB_SCHEMA, MEASURE_SCHEMA, job.candidate.model_dump(mode="json"), job.variant,
        job.profile.model_dump(mode="json"), config.train_settings(job.candidate).model_dump(mode="json"), task_fp,
        config.repeats,
    )  # fmt: skip


def build_key(cand: CandidateBase, config: SweepConfig, task_fp: str, versions: dict[str, Any]) -> str:
    from archbench.registry import candidate_kind

    spec = cand.model_dump(mode="json", exclude={"name", "variants"})
    files = candidate_kind(cand.kind)().key_parts(cand)  # the files the build reads, by content
    train = config.train_settings(cand).model_dump(mode="json")
    return content_key("build", JOB_SCHEMA, spec, train, task_fp, versions, files)


def measure_key(job: Job, build: str, machine: str, versions: dict[str, Any], repeat: int) -> str:
    p = job.profile
    knobs = p.model_dump(mode="json", include={"device", "threads", "cores", "batch_size", "input_shape", "seq_len",
                                               "measure", "upstream"})  # fmt: skip
    stopping = [p.budget.latency_ms, p.budget.percentile, p.budget.min_throughput is not None]
    return content_key("measure", JOB_SCHEMA, MEASURE_SCHEMA, build, job.variant, knobs, stopping, machine, versions,
                       repeat)  # fmt: skip
