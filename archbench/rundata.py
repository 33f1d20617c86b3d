"""A finished run, reopened without retraining: its task data, its candidates and their cached builds.

audit and check run the run's own models on data; everything they need was written by the sweep:
result.json (task spec, candidates file, fronts, each result's build key), the cached task data
(Cache().data_path(fingerprint)) and the cached builds (Cache().get_build(key)). When any of it is
gone, the error names what is missing and says to re-run the sweep; nothing is rebuilt here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbench.cache import Cache
from archbench.config import HardwareProfile
from archbench.errors import ArchbenchError, ConfigError
from archbench.jobs import BuildOutput, parse
from archbench.result import Result
from archbench.tasks.base import TaskData

RERUN = "re-run the sweep (archbench sweep ... --run-id <this run>) to rebuild it"


@dataclass
class Model:
    """One deployed model of the run: its result (on the profile it is run as), spec and cached build."""

    result: Result
    candidate: dict[str, Any]
    build: BuildOutput
    profile: HardwareProfile

    @property
    def label(self) -> str:
        return f"{self.result.candidate}/{self.result.variant}"


@dataclass
class Run:
    path: Path  # result.json
    meta: dict[str, Any]
    results: list[Result]
    spec: Any  # the task spec (a config.TaskSpecBase subclass)
    config_file: str
    task: TaskData
    task_path: Path
    cache: Cache

    @property
    def dir(self) -> Path:
        return self.path.parent

    def profile(self, name: str) -> HardwareProfile:
        raw = (self.meta.get("profiles") or {}).get(name)
        try:
            return HardwareProfile.model_validate(raw)
        except ValueError:
            raise ConfigError(self.path, f"profiles.{name}", "missing or not a valid profile") from None


def open_run(run_dir: Path, cache: Cache) -> Run:
    from archbench.config import validate_task_spec
    from archbench.report import read_result_json

    path = run_dir / "result.json" if run_dir.is_dir() else run_dir
    meta, results = read_result_json(path)
    run = meta.get("run") or {}
    try:
        spec = validate_task_spec(run.get("task") or {})
    except ValueError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ConfigError(path, "run.task", f"not a task this archbench can load: {reason}") from None
    config_file = str(run.get("candidates_file") or "<config>")
    task, task_path = _task_data(path, run, spec, config_file, cache)
    return Run(path, meta, results, spec, config_file, task, task_path, cache)


def _task_data(path: Path, run: dict[str, Any], spec: Any, config_file: str, cache: Cache) -> tuple[TaskData, Path]:
    """The exact arrays the run was measured on: by the recorded fingerprint, else by reloading the spec."""
    fingerprint = run.get("task_fingerprint")
    if not fingerprint:  # older runs: reload the task from its spec; its content hash finds the cached arrays
        from archbench.tasks import load_task

        fingerprint = load_task(spec, config_file).fingerprint()
    data = cache.data_path(str(fingerprint))
    if not data.exists():
        raise ConfigError(path, "run.task", f"the run's task data ({fingerprint}) is not in the cache "
                          f"{cache.root} (the data files changed or the cache was cleared); {RERUN}")  # fmt: skip
    return TaskData.load(data), data


def candidate_specs(run: Run) -> dict[str, dict[str, Any]]:
    """name -> the candidate spec as JSON data: recorded in result.json, else read from the candidates file."""
    recorded = (run.meta.get("run") or {}).get("candidates")
    if isinstance(recorded, list):
        return {c["name"]: c for c in recorded if isinstance(c, dict) and "name" in c}
    from archbench.config import load_sweep_config

    file = Path(run.config_file)
    if not file.is_file():
        raise ConfigError(run.path, "run.candidates_file", f"{run.config_file!r} is not a file: the candidates' "
                          "specs are needed to load their builds")  # fmt: skip
    return {c.name: c.model_dump(mode="json") for c in load_sweep_config(file).candidates}


def front_labels(run: Run) -> list[str]:
    """Every profile's front members, in profile order, each once."""
    fronts = run.meta.get("fronts") or {}
    return list(dict.fromkeys(label for name in fronts for label in fronts[name] or []))


def best_on_first_profile(run: Run) -> str:
    """The front member with the highest metric on the first profile (check's default model)."""
    fronts = run.meta.get("fronts") or {}
    for name in fronts:
        members = [r for r in run.results if r.profile == name and f"{r.candidate}/{r.variant}" in fronts[name]]
        if members:
            best = max(members, key=lambda r: r.accuracy if r.accuracy is not None else -1.0)
            return f"{best.candidate}/{best.variant}"
    raise ConfigError(run.path, "fronts", "no profile has a front member: choose one with --candidate NAME/VARIANT")


def load_models(run: Run, labels: list[str]) -> list[Model]:
    """The chosen models with their cached builds; each is run as on the first profile it was measured on."""
    specs = candidate_specs(run)
    models = []
    for label in labels:
        result = _measured(run, label)
        cand = specs.get(result.candidate)
        if cand is None:
            raise ConfigError(run.config_file, "candidates", f"no candidate {result.candidate!r} (was it renamed?)")
        models.append(Model(result, cand, _cached_build(run, result), run.profile(result.profile)))
    return models


def _measured(run: Run, label: str) -> Result:
    name, _, var = label.partition("/")
    ok = [r for r in run.results if r.candidate == name and r.variant == var and r.status == "ok"]
    if not ok:
        known = sorted({f"{r.candidate}/{r.variant}" for r in run.results if r.status == "ok"})
        raise ConfigError(run.path, "--candidate", f"{label!r} has no measured result in this run "
                          f"(measured: {', '.join(known) or 'none'})")  # fmt: skip
    result = next((r for r in ok if r.on_front), ok[0])
    if len(result.predictions) != len(run.task.y_test):
        raise ConfigError(run.path, f"{label}.predictions", f"{len(result.predictions)} test predictions, but the "
                          f"task data has {len(run.task.y_test)} test samples: the data changed; {RERUN}")  # fmt: skip
    return result


def _cached_build(run: Run, result: Result) -> BuildOutput:
    key = str(result.meta.get("build_key") or "")
    label = f"{result.candidate}/{result.variant}"
    build = parse(BuildOutput, run.cache.get_build(key)) if key else None
    if build is None or build.error is not None:
        raise ArchbenchError(f"{run.path}: {label}.meta.build_key: the build {key or '(none recorded)'} is not in "
                             f"the cache {run.cache.root}; {RERUN}")  # fmt: skip
    missing = [f for f in build.artifacts.values() if not Path(f).exists()]  # type: ignore[attr-defined]
    if missing:
        raise ArchbenchError(f"{run.path}: {label}.meta.build_key: the build's file {missing[0]} is gone; {RERUN}")
    return build  # type: ignore[return-value]
