"""The measure phase: every job in its own child, repeats interleaved, disturbed measurements retaken.

Inputs: the jobs, their builds, the cache. Output: through `emit(job, payloads)` each time a job's
set of payloads is complete or has changed (a quieter re-measurement), and `fail(job, error)`; the
sweep assembles and records them (so an interrupt keeps everything finished). The phase owns the
host-interference floors: the quietest reference speed per core set, this sweep's or this machine's
recent sweeps' (measure/interference.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archbench.assemble import Floors, disturbed, slowdown
from archbench.cache import Cache
from archbench.jobs import BuildOutput, MeasureJob, MeasurePayload, parse
from archbench.measure import interference
from archbench.plan import Job, PreparedTask, measure_key

RACE_FACTOR = 4  # a raced measurement takes this many times the samples of the first (time cap permitting)
RACE_MIN_SAMPLES = 1000
Payloads = dict[tuple[str, str, str], dict[int, MeasurePayload]]  # job key -> repeat -> payload
Progress = Callable[[str, int, int, str], None]


class MeasurePhase:
    def __init__(self, task: PreparedTask, builds: dict[str, BuildOutput], cache: Cache, machine: str,
                 repeats: int, progress: Progress, emit: Callable[[Job, list[MeasurePayload]], None],
                 fail: Callable[[Job, str], None]) -> None:  # fmt: skip
        from archbench.env import library_versions

        self.task, self.builds, self.cache, self.machine = task, builds, cache, machine
        self.repeats, self.progress, self.emit, self.fail = repeats, progress, emit, fail
        self.versions = library_versions()
        self.payloads: Payloads = {}
        self.stored_floors: Floors = cache.get_reference_floors(machine)  # the machine's quietest readings

    def run(self, jobs: list[Job]) -> None:
        self._first_pass(jobs)
        self._remeasure_disturbed(jobs)
        self.cache.put_reference_floors(self.machine, self.floors())

    def race(self, jobs: list[Job]) -> None:
        """Measure again, at a larger fixed count, results whose front membership the latency bounds
        could not decide (pareto.latency_unordered): the new measurement replaces the first, and its
        bounds (one look, the whole error budget, fresh samples) order what they can."""
        for i, job in enumerate(jobs):
            self.progress("race", i, len(jobs), job.label)
            m = job.profile.measure
            taken = sum(len(pl.samples_ms) for pl in self.payloads_of(job))
            target = min(m.max_samples, max(RACE_MIN_SAMPLES, RACE_FACTOR * taken))
            if target <= taken:
                continue
            fixed = m.model_copy(update={"fixed_samples": target, "min_samples": min(m.min_samples, target)})
            raced = Job(job.candidate, job.variant, job.profile.model_copy(update={"measure": fixed}))
            payload, _ = self._measure(raced, repeat=0)
            if payload is not None:
                self.payloads[job.key] = {0: payload}
                self.emit(job, [payload])
        self.progress("race", len(jobs), len(jobs), "")

    def floors(self) -> Floors:
        """This sweep's quietest reference speed per core set, or an earlier sweep's if that was quieter."""
        ours = interference.floors((interference.floor_key(self._profile(key).cores), pl.reference_us)
                                   for key, reps in self.payloads.items() for pl in reps.values())  # fmt: skip
        return {k: min(v, self.stored_floors.get(k, v)) for k, v in ours.items()}

    def payloads_of(self, job: Job) -> list[MeasurePayload]:
        return [self.payloads[job.key][r] for r in sorted(self.payloads.get(job.key, {}))]

    # ---- internals ----
    def _profile(self, key: tuple[str, str, str]) -> Any:
        return self._jobs[key].profile

    def _first_pass(self, jobs: list[Job]) -> None:
        self._jobs = {j.key: j for j in jobs}
        total, done = len(jobs) * self.repeats, 0
        for repeat in range(self.repeats):  # interleaved: drift hits every candidate alike
            for job in jobs:
                self.progress("measure", done, total, job.label)
                done += 1
                build = self.builds[job.candidate.name]
                if build.error is not None:
                    self.fail(job, f"build failed: {build.error}")
                elif job.variant in build.variant_errors:
                    self.fail(job, build.variant_errors[job.variant])
                elif job.key in self.payloads or repeat == 0:
                    payload, error = self._measure(job, repeat)
                    if payload is None:
                        self.payloads.pop(job.key, None)
                        self.fail(job, error or "measurement failed")
                        continue
                    self.payloads.setdefault(job.key, {})[repeat] = payload
                    if repeat == self.repeats - 1:
                        self.emit(job, self.payloads_of(job))
        self.progress("measure", total, total, "")

    def _remeasure_disturbed(self, jobs: list[Job]) -> None:
        """Measure again what was measured while the core ran slow or the timed threads waited for it.

        After the first pass the sweep knows how fast each core set can run the reference kernel; a
        measurement slower than interference_threshold times that, or whose timed threads waited on the
        run queue, is taken again (up to interference_retries times) and the quietest attempt is kept.
        Cached measurements were judged in the sweep that took them: an unchanged sweep measures nothing.
        """
        rounds = max((j.profile.measure.interference_retries for j in jobs), default=0)
        for attempt in range(rounds):
            floors = self.floors()
            redo = [(self._jobs[key], repeat) for key, reps in self.payloads.items() for repeat, pl in reps.items()
                    if not pl.cached and attempt < self._profile(key).measure.interference_retries
                    and disturbed(self._profile(key), pl, floors)]  # fmt: skip
            if not redo:
                return
            for i, (job, repeat) in enumerate(redo):
                self.progress("re-measure", i, len(redo), job.label)
                self._retake(job, repeat, floors)
            self.progress("re-measure", len(redo), len(redo), "")
            for job in {j.key: j for j, _ in redo}.values():
                self.emit(job, self.payloads_of(job))

    def _retake(self, job: Job, repeat: int, floors: Floors) -> None:
        old = self.payloads[job.key][repeat]
        new, _ = self._measure(job, repeat, use_cache=False)
        # Time spent on discarded attempts stays in measure_s: retries are part of the cost.
        attempts = old.attempts + 1
        if new is not None and _quietness(job, new, floors) < _quietness(job, old, floors):
            new.attempts, new.discarded_wall_s = attempts, old.discarded_wall_s + old.measure_wall_s
            self.payloads[job.key][repeat] = new
            self.cache.put_measurement(new.measure_key, new.model_dump(mode="json"))
        else:  # keep the quieter (or only working) attempt
            old.attempts = attempts
            old.discarded_wall_s += new.measure_wall_s if new is not None else 0.0

    def _measure(self, job: Job, repeat: int, use_cache: bool = True) -> tuple[MeasurePayload | None, str | None]:
        from archbench.measure.runner import run_child

        p, build = job.profile, self.builds[job.candidate.name]
        key = measure_key(job, build.build_key, self.machine, self.versions, repeat)
        cached = parse(MeasurePayload, self.cache.get_measurement(key)) if use_cache else None
        if cached is not None:
            cached.cached = True  # type: ignore[attr-defined]
            return cached, None  # type: ignore[return-value]
        child = MeasureJob(variant=job.variant, build=build, candidate=job.candidate.model_dump(mode="json"),
                           profile=p, task_path=str(self.task.path), seed=repeat,
                           memory_headroom_mb=max(1024.0, 4 * (p.budget.memory_mb or 0)))  # fmt: skip
        outcome = run_child("measure", child.model_dump(mode="json"), timeout_s=p.measure.timeout_s,
                            threads=p.threads)  # fmt: skip
        if outcome.payload is None:
            return None, outcome.error
        payload = parse(MeasurePayload, outcome.payload)
        if payload is None:
            return None, "the measuring child's answer did not validate"
        payload.memory.process_peak_mb = outcome.max_rss_mb  # type: ignore[attr-defined]
        payload.measure_wall_s, payload.measure_key = outcome.wall_s, key  # type: ignore[attr-defined]
        if use_cache:
            self.cache.put_measurement(key, payload.model_dump(mode="json"))
        return payload, None  # type: ignore[return-value]


def _quietness(job: Job, payload: MeasurePayload, floors: Floors) -> float:
    """Lower is quieter: the probe's slowdown, and the run-queue share weighs in as extra slowdown."""
    from archbench.assemble import run_queue_share

    return slowdown(job.profile, payload, floors) * (1 + run_queue_share(job.profile, payload))
