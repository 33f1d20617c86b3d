"""The sweep: plan candidate × variant × profile, build once, measure each in its own child, judge.

Data flows one way: config -> plan -> build (cached) -> measure (cached, isolated) -> Result ->
budgets -> front -> report files. Results already measured are on disk (result.json rewritten
atomically after each one) so an interrupt loses nothing, and the cache makes a rerun resume.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archbench.cache import Cache, content_key
from archbench.config import HardwareProfile, OnnxCandidate, SweepConfig
from archbench.errors import ConfigError
from archbench.result import LatencyDecision, Result

Progress = Callable[[str, int, int, str], None]  # (phase, done, total, label)
Builds = dict[str, tuple[str, dict[str, Any]]]  # candidate name -> (build key, build payload)
Payloads = dict[tuple[str, str, str], dict[int, dict[str, Any]]]  # job key -> repeat -> measuring child's payload
MB = 1024 * 1024


@dataclass
class Job:
    candidate: Any
    variant: str
    profile: HardwareProfile

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.candidate.name, self.variant, self.profile.name)

    @property
    def label(self) -> str:
        return f"{self.candidate.name}/{self.variant}@{self.profile.name}"


@dataclass
class SweepOutcome:
    run_dir: Path
    results: list[Result]
    profiles: dict[str, HardwareProfile]
    files: dict[str, Path] = field(default_factory=dict)
    complete: bool = True


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


def plan(config: SweepConfig, profiles: list[HardwareProfile]) -> list[Job]:
    return [Job(c, v, p) for p in profiles for c in config.candidates for v in c.variants]


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def safe_run_dir(out_root: Path, run_id: str) -> Path:
    """results/<run-id>: the id may not climb out of the results directory."""
    import re

    from archbench.config import NAME_PATTERN

    if not re.fullmatch(NAME_PATTERN, run_id) or run_id in {".", ".."}:
        raise ConfigError("--run-id", "run_id", f"{run_id!r} must be letters, digits, '_', '-', '.' (max 64)")
    run_dir = (out_root / run_id).resolve()
    if out_root.resolve() not in run_dir.parents:
        raise ConfigError("--run-id", "run_id", "must stay inside the results directory")
    return run_dir


class Sweep:
    def __init__(self, config: SweepConfig, profiles: list[HardwareProfile], out_root: Path, cache: Cache,
                 run_id: str | None = None, config_file: str = "<default>",
                 progress: Progress | None = None) -> None:  # fmt: skip
        names = [p.name for p in profiles]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError("--profile", "name", f"profile names must be unique, repeated: {', '.join(dupes)}")
        self.config, self.profiles, self.cache = config, profiles, cache
        self.run_id = run_id or new_run_id()
        self.run_dir = safe_run_dir(out_root, self.run_id)
        self.config_file = config_file
        self.progress = progress or (lambda *a: None)
        self.results: dict[tuple[str, str, str], Result] = {}
        self.stored_floors: dict[tuple[int, ...], float] = {}  # the machine's quietest readings, from the cache
        self.started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")

    # ---- public ---------------------------------------------------------------------------------
    def run(self) -> SweepOutcome:
        from archbench.env import collect_environment, machine_fingerprint

        self.environment = collect_environment()
        self.machine = machine_fingerprint(self.environment)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        complete = False
        try:
            self._prepare_task()
            self._load_previous()
            jobs = self._runnable_jobs(plan(self.config, self.profiles))
            builds = self._build_all(jobs)
            self._measure_all(jobs, builds)
            complete = True
        finally:  # an interrupt still leaves every finished result in valid files
            files = self._write(complete, final=True)
        return SweepOutcome(self.run_dir, list(self.results.values()), self.profile_map, files, complete)

    @property
    def profile_map(self) -> dict[str, HardwareProfile]:
        return {p.name: p for p in self.profiles}

    # ---- phases ---------------------------------------------------------------------------------
    def _load_previous(self) -> None:
        """Resuming into an existing run directory keeps its finished results."""
        path = self.run_dir / "result.json"
        if not path.exists():
            return
        from archbench.report import read_result_json

        try:
            meta, previous = read_result_json(path)
        except ConfigError:
            return
        if meta.get("run", {}).get("machine") != self.machine:
            return  # measured elsewhere: never mix two machines' figures in one run
        # Same names are not enough: a changed candidate, profile or training setting is measured again.
        wanted = {j.key: self._spec_key(j) for j in plan(self.config, self.profiles)}
        self.results.update(
            {r.key: r for r in previous if r.status == "ok" and r.meta.get("spec_key") == wanted.get(r.key)}
        )

    def _spec_key(self, job: Job) -> str:
        """Everything a finished result of this job depends on, for resuming a run directory."""
        return content_key(
            "job", job.candidate.model_dump(mode="json"), job.variant, job.profile.model_dump(mode="json"),
            self.config.train_settings(job.candidate).model_dump(mode="json"), self.task_fp, self.config.repeats,
        )  # fmt: skip

    def _prepare_task(self) -> None:
        from archbench.tasks import load_task

        self.task = load_task(self.config.task, self.config_file)
        self.task_fp = self.task.fingerprint()
        self.task_path = self.cache.data_path(self.task_fp)
        if not self.task_path.exists():
            self.task_path.parent.mkdir(parents=True, exist_ok=True)
            self.task.save(self.task_path)
        for p in self.profiles:
            if p.input_shape is not None and tuple(p.input_shape) != self.task.sample_shape:
                raise ConfigError(p.name, "input_shape", f"{p.input_shape} does not fit the task's "
                                  f"inputs {list(self.task.sample_shape)}")  # fmt: skip
            for name in p.budget.min_slice_accuracy:  # a typo would otherwise make every candidate infeasible
                if name not in self.task.slices:
                    raise ConfigError(p.name, f"budget.min_slice_accuracy.{name}", f"the task has no slice {name!r} "
                                      f"(slices: {', '.join(sorted(self.task.slices)) or 'none'})")  # fmt: skip

    def _runnable_jobs(self, jobs: list[Job]) -> list[Job]:
        runnable, cuda = [], None
        for job in jobs:
            if job.profile.device == "cuda":
                if cuda is None:
                    cuda = cuda_available()
                if not cuda[0]:
                    self._record(Result(job.candidate.name, job.variant, job.profile.name, status="skipped",
                                        error=f"profile skipped: {cuda[1]}", feasibility="skipped"))  # fmt: skip
                    continue
            runnable.append(job)
        return runnable

    def _build_all(self, jobs: list[Job]) -> Builds:
        from archbench.env import library_versions

        candidates = {j.candidate.name: j.candidate for j in jobs if j.key not in self.results}
        builds: Builds = {}
        versions = library_versions()
        headroom = max(4096.0, 4 * max((p.budget.memory_mb or 0) for p in self.profiles))
        for i, cand in enumerate(candidates.values()):
            self.progress("build", i, len(candidates), cand.name)
            key = self._build_key(cand, versions)
            # A concurrent sweep building the same candidate would wipe this build dir: wait, then reuse its build.
            with self.cache.build_lock(key):
                builds[cand.name] = (key, self._build_one(cand, key, headroom))
        self.progress("build", len(candidates), len(candidates), "")
        return builds

    def _build_one(self, cand: Any, key: str, headroom: float) -> dict[str, Any]:
        from archbench.measure.runner import run_child

        cached = self.cache.get_build(key)
        if cached is not None:
            return cached
        out_dir = self.cache.new_build_dir(key)
        job = {
            "candidate": cand.model_dump(mode="json"),
            "train": self.config.train_settings(cand).model_dump(mode="json"),
            "task_path": str(self.task_path), "out_dir": str(out_dir), "variants": list(cand.variants),
            "memory_headroom_mb": headroom,
        }  # fmt: skip
        outcome = run_child("build", job, timeout_s=self.build_timeout_s, threads=None)
        if outcome.payload is None:
            shutil.rmtree(out_dir, ignore_errors=True)
            return {"error": outcome.error}
        build = {**outcome.payload, "build_wall_s": outcome.wall_s, "build_key": key}
        self.cache.put_build(key, build)
        return build

    build_timeout_s = 1800.0

    def _build_key(self, cand: Any, versions: dict[str, Any]) -> str:
        from archbench.candidates.factory import import_source_hash

        spec = cand.model_dump(mode="json", exclude={"name", "variants"})
        source = import_source_hash(cand.target) if getattr(cand, "target", None) else None
        onnx_hash = _file_hash(cand.path) if isinstance(cand, OnnxCandidate) else None
        weights_hash = _file_hash(cand.weights) if getattr(cand, "weights", None) else None
        if cand.kind == "hf-pretrained":  # the directory's files, not just its path, decide the build
            weights_hash = _dir_hash(cand.path)
        train = self.config.train_settings(cand).model_dump(mode="json")
        return content_key("build", 2, spec, train, self.task_fp, versions, source, onnx_hash, weights_hash)

    def _measure_all(self, jobs: list[Job], builds: Builds) -> None:
        from archbench.env import library_versions

        versions = library_versions()
        todo = [j for j in jobs if j.key not in self.results]
        total = len(todo) * self.config.repeats
        payloads: Payloads = {}
        self.stored_floors = self.cache.get_reference_floors(self.machine)
        done = 0
        for repeat in range(self.config.repeats):  # interleaved: drift hits every candidate alike
            for job in todo:
                self.progress("measure", done, total, job.label)
                key = job.key
                build_key, build = builds[job.candidate.name]
                if "error" in build:
                    self._record(Result.failed(*key, error=f"build failed: {build['error']}"))
                elif job.variant in build.get("variant_errors", {}):
                    self._record(Result.failed(*key, error=build["variant_errors"][job.variant]))
                else:
                    payload = self._measure_one(job, build_key, build, versions, repeat)
                    if "error" in payload:
                        self._record(Result.failed(*key, error=payload["error"], timings=_build_timings(build)))
                    else:
                        payloads.setdefault(key, {})[repeat] = payload
                        if repeat == self.config.repeats - 1:
                            self._record(self._assemble(job, build, payloads))
                done += 1
        self.progress("measure", total, total, "")
        self._remeasure_disturbed(todo, builds, versions, payloads)

    def _remeasure_disturbed(self, todo: list[Job], builds: Builds,
                             versions: dict[str, Any], payloads: Payloads) -> None:  # fmt: skip
        """Measure again what was measured while the core ran slow (see measure/interference.py).

        After the first pass the sweep knows how fast each core set can run the reference kernel; a
        measurement whose probe ran more than interference_threshold times slower is taken again, up to
        interference_retries times, and the quietest attempt is kept. Cached measurements were judged in
        the sweep that took them and are left alone, so an unchanged sweep still measures nothing.
        """
        by_key = {j.key: j for j in todo}
        rounds = max((j.profile.measure.interference_retries for j in todo), default=0)
        for attempt in range(rounds):
            floors = self._reference_floors(payloads)
            redo = [(by_key[key], repeat) for key, reps in payloads.items() for repeat, pl in reps.items()
                    if not pl.get("cached") and attempt < by_key[key].profile.measure.interference_retries
                    and self._disturbed(by_key[key], pl, floors)]  # fmt: skip
            if not redo:
                break
            for i, (job, repeat) in enumerate(redo):
                self.progress("re-measure", i, len(redo), job.label)
                self._remeasure_one(job, repeat, builds, versions, payloads, floors)
            self.progress("re-measure", len(redo), len(redo), "")
            for job in {j.key: j for j, _ in redo}.values():
                self._record(self._assemble(job, builds[job.candidate.name][1], payloads))
        # The floors are final only now: flag every result against them (the final write saves them).
        self.cache.put_reference_floors(self.machine, self._reference_floors(payloads))
        for key in payloads:
            if self.results.get(key) is not None and self.results[key].status == "ok":
                job = by_key[key]
                self.results[key] = self._assemble(job, builds[job.candidate.name][1], payloads)

    def _remeasure_one(self, job: Job, repeat: int, builds: Builds, versions: dict[str, Any], payloads: Payloads,
                       floors: dict[tuple[int, ...], float]) -> None:  # fmt: skip
        build_key, build = builds[job.candidate.name]
        old = payloads[job.key][repeat]
        new = self._measure_one(job, build_key, build, versions, repeat, use_cache=False)
        # Time spent on discarded attempts stays in measure_s: retries are part of the cost.
        discarded = old.get("discarded_wall_s", 0.0)
        attempts = old.get("attempts", 1) + 1
        if "error" not in new and self._slowdown(job, new, floors) < self._slowdown(job, old, floors):
            kept = {**new, "attempts": attempts, "discarded_wall_s": discarded + old["measure_wall_s"]}
            payloads[job.key][repeat] = kept
            self.cache.put_measurement(new["measure_key"], kept)
        else:  # keep the quieter (or only working) attempt
            old.update(attempts=attempts, discarded_wall_s=discarded + float(new.get("measure_wall_s") or 0.0))

    def _reference_floors(self, payloads: Payloads) -> dict[tuple[int, ...], float]:
        """This sweep's quietest reference speed per core set, or an earlier sweep's if that was quieter."""
        from archbench.measure import interference

        profiles = self.profile_map
        ours = interference.floors((interference.floor_key(profiles[key[2]].cores), pl)
                                   for key, reps in payloads.items() for pl in reps.values())  # fmt: skip
        return {k: min(v, self.stored_floors.get(k, v)) for k, v in ours.items()}

    @staticmethod
    def _slowdown(job: Job, payload: dict[str, Any], floors: dict[tuple[int, ...], float]) -> float:
        from archbench.measure import interference

        key = interference.floor_key(job.profile.cores)
        return interference.slowdown(payload.get("reference_us"), floors.get(key)) or 1.0

    def _disturbed(self, job: Job, payload: dict[str, Any], floors: dict[tuple[int, ...], float]) -> bool:
        return self._slowdown(job, payload, floors) > job.profile.measure.interference_threshold

    def _measure_one(self, job: Job, build_key: str, build: dict[str, Any], versions: dict[str, Any],
                     repeat: int, use_cache: bool = True) -> dict[str, Any]:  # fmt: skip
        from archbench.measure.runner import run_child

        p = job.profile
        knobs = p.model_dump(mode="json", include={"device", "threads", "cores", "batch_size", "input_shape",
                                                   "seq_len", "measure", "upstream"})  # fmt: skip
        stopping = [p.budget.latency_ms, p.budget.percentile, p.budget.min_throughput is not None]
        key = content_key("measure", 3, build_key, job.variant, knobs, stopping, self.machine, versions, repeat)
        cached = self.cache.get_measurement(key) if use_cache else None
        if cached is not None:
            return {**cached, "cached": True}
        child_job = {
            "variant": job.variant, "build": build, "candidate": job.candidate.model_dump(mode="json"),
            "profile": p.model_dump(mode="json"), "task_path": str(self.task_path), "cores": p.cores,
            "seed": repeat, "memory_headroom_mb": max(1024.0, 4 * (p.budget.memory_mb or 0)),
        }  # fmt: skip
        outcome = run_child("measure", child_job, timeout_s=p.measure.timeout_s, threads=p.threads)
        if outcome.payload is None:
            return {"error": outcome.error}
        payload = {**outcome.payload, "process_peak_mb": outcome.max_rss_mb, "measure_wall_s": outcome.wall_s,
                   "measure_key": key}  # fmt: skip
        if use_cache:
            self.cache.put_measurement(key, payload)
        return payload

    def _assemble(self, job: Job, build: dict[str, Any], all_payloads: Payloads) -> Result:
        """Pool the repeats' raw samples and derive every statistic and bound from them."""
        import numpy as np

        from archbench.measure.stats import StoppingRule, decide, is_unstable, summarize
        from archbench.pareto import upstream_accuracy

        payloads = [all_payloads[job.key][r] for r in sorted(all_payloads[job.key])]
        p, first = job.profile, payloads[0]
        floors = self._reference_floors(all_payloads)
        slowdown = max(self._slowdown(job, pl, floors) for pl in payloads) if floors else None
        samples = [s for pl in payloads for s in pl["samples_ms"]]
        summary = summarize(samples)
        rule = StoppingRule.for_profile(p)
        # A fixed sample count is a single look: the whole error budget goes to it.
        alpha = 1 - p.measure.confidence if p.measure.fixed_samples else rule.alpha_per_look
        d = decide(np.sort(np.asarray(samples)), rule.q, rule.budget_ms, alpha)
        decision = LatencyDecision(p.budget.percentile, summary.get(p.budget.percentile, math.nan), d.lower_ms,
                                   d.upper_ms, p.measure.confidence, d.alpha_per_look,
                                   "; ".join(sorted({pl["stop_reason"] for pl in payloads})))  # fmt: skip
        memory = dict(first["memory"])
        memory["peak_rss_mb"] = max(pl["memory"]["peak_rss_mb"] or 0 for pl in payloads) or None
        memory["process_peak_mb"] = max((pl.get("process_peak_mb") or 0) for pl in payloads) or None
        throughputs = [pl["throughput"] for pl in payloads if pl.get("throughput")]
        acc = first["accuracy"]
        return Result(
            job.candidate.name, job.variant, p.name,
            accuracy=acc,
            pipeline_accuracy=acc * upstream_accuracy(p) if p.upstream else None,
            slice_accuracy=first["slice_accuracy"],
            latency=summary, latency_samples_ms=samples, latency_decision=decision,
            stage_latency_ms=first.get("stage_latency_ms") or {},
            throughput=float(np.median(throughputs)) if throughputs else None,
            memory=memory, model_mb=first["model_bytes"] / MB, params=build.get("params"),
            timings={
                **_build_timings(build),
                # every child, start-up and discarded disturbed attempts included
                "measure_s": sum(pl["measure_wall_s"] + pl.get("discarded_wall_s", 0.0) for pl in payloads),
                "latency_loop_s": sum(pl["loop_wall_s"] for pl in payloads),  # the timing loop alone
            },
            unstable=is_unstable(summary),
            host_slowdown=slowdown,
            disturbed=bool(floors) and any(self._disturbed(job, pl, floors) for pl in payloads),
            meta={
                "build_key": build.get("build_key"), "measure_keys": [pl["measure_key"] for pl in payloads],
                "cached": all(pl.get("cached") for pl in payloads), "repeats": len(payloads),
                "machine_state": [pl["machine_state"] for pl in payloads], "build_info": build.get("info", {}),
                "padding_policy": first.get("padding_policy"), "spec_key": self._spec_key(job),
                "measure_attempts": [pl.get("attempts", 1) for pl in payloads],
            },
        )  # fmt: skip

    # ---- bookkeeping ----------------------------------------------------------------------------
    def _record(self, result: Result) -> None:
        self.results[result.key] = result
        self._write(complete=False, final=False)

    def _write(self, complete: bool, final: bool) -> dict[str, Path]:
        from archbench.cache import file_lock

        # Another sweep may write this run directory at the same time: read-merge-write under a lock.
        with file_lock(self.run_dir / ".result.lock"):
            return self._write_merged(complete, final)

    def _others_on_disk(self) -> tuple[list[Result], dict[str, HardwareProfile]]:
        """Results in result.json that this sweep does not hold (another sweep's, or earlier ones), and
        the profiles they need. A run directory accumulates this machine's results; none is dropped."""
        from archbench.report import read_result_json

        profiles = self.profile_map
        try:
            meta, on_disk = read_result_json(self.run_dir / "result.json")
        except ConfigError:  # none yet, or unreadable: nothing to keep
            return [], profiles
        if meta.get("run", {}).get("machine") != self.machine:
            return [], profiles
        for name, raw in (meta.get("profiles") or {}).items():
            if name not in profiles:
                with contextlib.suppress(ValueError):  # pydantic's ValidationError is a ValueError
                    profiles[name] = HardwareProfile.model_validate(raw)
        return [r for r in on_disk if r.key not in self.results and r.profile in profiles], profiles

    def _write_merged(self, complete: bool, final: bool) -> dict[str, Path]:
        from archbench import report
        from archbench.pareto import evaluate

        others, profiles = self._others_on_disk()
        results = evaluate([*self.results.values(), *others], profiles)
        run_info = {
            "run_id": self.run_id, "started": self.started, "candidates_file": self.config_file,
            "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds") if final else None,
            "complete": complete, "task": self.config.task.model_dump(mode="json"), "machine": self.machine,
        }  # fmt: skip
        env = getattr(self, "environment", {})
        if not final:
            report.write_result_json(self.run_dir, results, profiles, env, run_info, complete)
            return {}
        return report.write_all(self.run_dir, results, profiles, env, run_info, complete)


def _build_timings(build: dict[str, Any]) -> dict[str, float]:
    t = build.get("timings", {})
    return {k: float(t[k]) for k in ("train_s", "export_s", "quantize_s") if k in t}


def _dir_hash(path: str) -> str:
    """Hash of a model directory's top-level files (config, tokenizer, weights), by content."""
    files = sorted(p for p in Path(path).iterdir() if p.is_file()) if Path(path).is_dir() else []
    return content_key([(p.name, _file_hash(str(p))) for p in files])


def _file_hash(path: str) -> str | None:
    import hashlib

    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()[:16]
    except OSError:
        return None
