"""The sweep: plan -> build -> measure -> assemble -> run directory, each phase its own module.

Data flows one way: config -> plan (plan.py) -> build once per candidate (build.py, cached, in a
child) -> measure each (candidate, variant, profile) in its own child (measure/phase.py, cached,
re-measuring disturbed ones) -> Result (assemble.py, pure) -> budgets and front -> the run directory
(rundir.py), rewritten after every result so an interrupt loses nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archbench.cache import Cache
from archbench.config import HardwareProfile, SweepConfig
from archbench.errors import ConfigError
from archbench.jobs import MeasurePayload
from archbench.plan import Job, cuda_available, plan, prepare_task, spec_key, unrunnable_profiles
from archbench.result import Result
from archbench.rundir import RunDirectory, new_run_id, safe_run_dir

Progress = Callable[[str, int, int, str], None]  # (phase, done, total, label)
OnResult = Callable[[int, int, Result, HardwareProfile], None]  # (i 1-based, total, result, profile) as recorded

__all__ = ["Job", "Sweep", "SweepOutcome", "cuda_available", "new_run_id", "plan", "safe_run_dir"]


@dataclass
class SweepOutcome:
    run_dir: Path
    results: list[Result]
    profiles: dict[str, HardwareProfile]
    files: dict[str, Path] = field(default_factory=dict)
    complete: bool = True


class Sweep:
    def __init__(self, config: SweepConfig, profiles: list[HardwareProfile], out_root: Path, cache: Cache,
                 run_id: str | None = None, config_file: str = "<default>", progress: Progress | None = None,
                 on_result: OnResult | None = None, figures: bool = True) -> None:  # fmt: skip
        names = [p.name for p in profiles]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError("--profile", "name", f"profile names must be unique, repeated: {', '.join(dupes)}")
        self.config, self.profiles, self.cache = config, profiles, cache
        self.run_id = run_id or new_run_id()
        self.run_dir = safe_run_dir(out_root, self.run_id)
        self.config_file = config_file
        self.progress = progress or (lambda *a: None)
        self.on_result = on_result or (lambda *a: None)
        self.profile_map = {p.name: p for p in profiles}
        self.figures = figures  # False: no PNGs (a search trial; the search draws its whole front)

    def run(self) -> SweepOutcome:
        from archbench.assemble import Labels, assemble
        from archbench.build import build_all
        from archbench.env import collect_environment, machine_fingerprint
        from archbench.measure.phase import MeasurePhase

        environment = collect_environment()
        machine = machine_fingerprint(environment)
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        run_info = {"run_id": self.run_id, "started": started, "candidates_file": self.config_file,
                    "task": self.config.task.model_dump(mode="json"), "machine": machine}  # fmt: skip
        task = prepare_task(self.config, self.profiles, self.cache, self.config_file)  # bad data: nothing to keep
        # The test labels, once per run: accuracy of two results (or two runs, in gate) is compared paired.
        # The data's content hash and the candidates' specs: audit and check reopen the run's own builds.
        run_info.update(test_labels=task.y_test.tolist(), task_fingerprint=task.fingerprint,
                        candidates=[c.model_dump(mode="json") for c in self.config.candidates])
        rundir = RunDirectory(self.run_dir, machine, self.profile_map, environment, run_info, self.figures)
        results: dict[tuple[str, str, str], Result] = {}
        jobs = plan(self.config, self.profiles)

        def record(result: Result) -> None:
            results[result.key] = result
            rundir.write(results, complete=False, final=False)  # judged there: on_front is set when it returns
            self.on_result(list(results).index(result.key) + 1, len(jobs), result, self.profile_map[result.profile])

        complete = False
        try:
            keys = {j.key: spec_key(j, self.config, task.fingerprint) for j in jobs}
            results.update(rundir.finished(keys))
            skipped = unrunnable_profiles(self.profiles)
            for job in (j for j in jobs if j.profile.name in skipped and j.key not in results):
                record(Result(*job.key, status="skipped", error=skipped[job.profile.name], feasibility="skipped"))
            todo = [j for j in jobs if j.key not in results]
            candidates = list({j.candidate.name: j.candidate for j in todo}.values())
            builds = build_all(candidates, self.config, task, self.profiles, self.cache, self.progress)
            labels = Labels(task.y_test, task.slices, task.num_classes, task.metric)

            def emit(job: Job, payloads: list[MeasurePayload]) -> None:
                build = builds[job.candidate.name]
                record(assemble(*job.key[:2], job.profile, build, payloads, phase.floors(), labels, keys[job.key]))

            def fail(job: Job, error: str) -> None:
                from archbench.assemble import build_timings

                record(Result.failed(*job.key, error=error, timings=build_timings(builds[job.candidate.name])))

            phase = MeasurePhase(task, builds, self.cache, machine, self.config.repeats, self.progress, emit, fail)
            phase.run(todo)
            if self.config.repeats == 1:  # racing replaces a measurement: with repeats, pooling does that job
                phase.race(self._to_race(todo, results, run_info["test_labels"]))
            floors = phase.floors()  # final only now: judge every measured result against them
            for job in todo:
                if results.get(job.key) is not None and results[job.key].status == "ok":
                    results[job.key] = assemble(*job.key[:2], job.profile, builds[job.candidate.name],
                                                phase.payloads_of(job), floors, labels, keys[job.key])  # fmt: skip
            complete = True
        finally:  # an interrupt still leaves every finished result in valid files
            files = rundir.write(results, complete, final=True)
        return SweepOutcome(self.run_dir, list(results.values()), self.profile_map, files, complete)

    def _to_race(self, todo: list[Job], results: dict[tuple[str, str, str], Result], y_true: list[int]) -> list[Job]:
        """The jobs whose front membership only their overlapping latency intervals leave undecided."""
        from archbench.pareto import evaluate, latency_unordered

        judged = evaluate(list(results.values()), self.profile_map, y_true)
        keys = {r.key for p in self.profiles if p.measure.race
                for pair in latency_unordered(judged, p, y_true) for r in pair}  # fmt: skip
        return [j for j in todo if j.key in keys]
