"""Architecture search with Optuna (ask/tell) over the same build + measure path as `sweep`.

Each trial takes the space's base candidate with the sampled values (archbench/search_space.py), runs
it as a one-candidate sweep (archbench.sweep.Sweep: child-process build, cached, measured on the
profile) and tells Optuna three objectives, the task's metric (max), latency at the budget's
percentile (min), peak memory (min), with one constraint per budget via `trial.set_constraint`
(<= 0 satisfied). An undecided budget (the confidence interval straddles the limit) is told as
violated by max(value - limit, EPS): the sampler treats it as barely infeasible, and the front never
holds it. A proposal that repeats an evaluated point is not measured again (duplicate_of): it is told
PRUNED and does not count towards the trial budget. The study lives in Optuna storage
(archbench/search_storage.py): rerunning resumes it, and several workers, on several machines, can fill
one study. The report (archbench/search_report.py) is a sweep's four files over every trial measured on
this machine, plus hypervolume.png.
"""

from __future__ import annotations

import math
import os
import random
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archbench.cache import Cache
from archbench.config import HardwareProfile
from archbench.result import Result
from archbench.search_space import SearchSpace

DIRECTIONS = ["maximize", "minimize", "minimize"]
SAMPLERS = ("nsga2", "tpe", "random", "grid")
BIG = 1e9  # stands in for "not measured" (Optuna needs finite numbers)
EPS = 1e-6  # how far an undecided budget counts as violated when its estimate is inside the limit
DEFAULT_TRIALS = 20
MAX_REPEATS = 50  # proposals in a row that repeat evaluated points: the sampler has nothing new (space used up)

OnTrial = Callable[[int, int, int | None, Result, dict[str, Any]], None]  # (number, done, budget, result, values)


@dataclass
class SearchSettings:
    sampler: str = "nsga2"
    trials: int | None = None  # the study's total budget of trials (all workers together)
    timeout_s: float | None = None  # this worker stops starting trials after this long
    seed: int = 0
    storage: str | None = None  # an Optuna storage URL; default: SQLite in the run directory
    study: str | None = None  # default: the run id
    heartbeat_s: int = 10  # a worker silent for 3x this long has its trial failed and retried
    across_machines: bool = False  # put trials measured on other machines into this front


@dataclass
class SearchOutcome:
    run_dir: Path
    results: list[Result]  # the trials in this front (this machine's, unless across_machines)
    files: dict[str, Path]
    study: Any
    measured_here: int = 0  # trials this worker ran now
    left_out: int = 0  # trials measured on other machines, not in this front
    hypervolume: list[float] = field(default_factory=list)
    complete: bool = False


def objectives(result: Result, profile: HardwareProfile) -> tuple[float, float, float]:
    """(metric, latency at the budget's percentile, peak memory) as told to Optuna."""
    acc = result.pipeline_accuracy if profile.upstream else result.accuracy
    latency = result.latency_at(profile.budget.percentile)
    memory = result.peak_memory_mb
    return (acc or 0.0, _finite(latency), _finite(memory))


def constraints(result: Result) -> dict[str, float]:
    """One value per budget, <= 0 satisfied; undecided counts as violated (by at least EPS)."""
    out = {}
    for v in result.verdicts:
        value = _finite(v.constraint)
        out[v.budget] = max(value, EPS) if v.status == "undecided" else value
    return out


def _finite(x: float | None) -> float:
    return x if x is not None and math.isfinite(x) else BIG


def default_run_id(space: SearchSpace, profile: HardwareProfile) -> str:
    """Deterministic, so that rerunning the same command resumes the same study."""
    return f"search-{space.fingerprint(profile, DIRECTIONS)[:10]}"


def duplicate_of(study: Any, trial: Any) -> int | None:
    """The number of an earlier trial that evaluated the same point (same Optuna parameters), or None.

    Samplers re-propose points (NSGA-II's offspring often equal a parent in a finite space; random draws
    repeat): measuring one again is a wasted trial, since the cache would return the same result. Only
    evaluated trials count: COMPLETE, or FAIL with the measurement's error (an interrupted trial is not)."""
    from optuna.trial import TrialState

    params = trial.params
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.FAIL)):
        evaluated = t.state == TrialState.COMPLETE or "error" in t.user_attrs
        if evaluated and t.number != trial.number and t.params == params:
            return t.number
    return None


def make_sampler(name: str, seed: int, budget: int | None) -> Any:
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "nsga2":
            # A small population, about a third of the budget: with Optuna's default 50 a 20-trial search
            # would be all random first generation; a third leaves two generations of crossover/mutation.
            population = max(4, min(50, (budget or 150) // 3))
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(3, min(10, (budget or 40) // 4)))
        if name in ("random", "grid"):  # grid: the points are queued in the study; random fills any gap
            return optuna.samplers.RandomSampler(seed=seed)
    from archbench.errors import ConfigError

    raise ConfigError("--sampler", "sampler", f"{name!r} is not one of {', '.join(SAMPLERS)}")


class Search:
    def __init__(self, space: SearchSpace, profile: HardwareProfile, settings: SearchSettings, out_root: Path,
                 cache: Cache, run_id: str | None = None, on_trial: OnTrial | None = None) -> None:  # fmt: skip
        from archbench.sweep import safe_run_dir

        self.space, self.profile, self.settings, self.cache = space, profile, settings, cache
        self.run_id = run_id or default_run_id(space, profile)
        self.run_dir = safe_run_dir(out_root, self.run_id)
        self.on_trial = on_trial or (lambda *a: None)
        self.fingerprint = space.fingerprint(profile, DIRECTIONS)

    def run(self) -> SearchOutcome:
        import optuna

        from archbench import search_report
        from archbench.env import collect_environment, machine_fingerprint
        from archbench.plan import prepare_task
        from archbench.search_storage import open_storage, open_study, storage_url

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        s = self.settings
        if s.sampler not in SAMPLERS:
            from archbench.errors import ConfigError

            raise ConfigError("--sampler", "sampler", f"{s.sampler!r} is not one of {', '.join(SAMPLERS)}")
        grid = self.space.grid() if s.sampler == "grid" else None  # not finite: an error before anything is made
        if grid is not None:  # the whole grid unless told fewer
            budget: int | None = min(s.trials or len(grid), len(grid))
        else:
            budget = s.trials if s.trials is not None else (None if s.timeout_s else DEFAULT_TRIALS)
        task = prepare_task(self.space.config, [self.profile], self.cache, self.space.file)  # bad data: stop here
        environment = collect_environment()
        machine = machine_fingerprint(environment)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        url = storage_url(self.run_dir, s.storage)
        storage = open_storage(url, s.heartbeat_s)
        seed = s.seed if s.storage is None else s.seed * 1_000_003 + os.getpid()  # workers must not propose alike
        study = open_study(storage, s.study or self.run_id, DIRECTIONS, self.fingerprint,
                           make_sampler(s.sampler, seed, budget))  # fmt: skip
        if grid is not None:  # idempotent: a rerun with a larger --trials queues only the points not yet there
            random.Random(s.seed).shuffle(grid)
            for point in grid[:budget]:
                study.enqueue_trial(point, skip_if_exists=True)
        info = {"file": self.space.file, "sampler": s.sampler, "study": study.study_name,
                "storage": search_report.masked_url(url), "budget": budget, "fingerprint": self.fingerprint,
                "profile": self.profile.name}  # fmt: skip
        report = search_report.SearchReport(self.run_dir, self.run_id, self.profile, environment, machine, info,
                                            task.y_test.tolist(), s.across_machines)  # fmt: skip
        measured, complete = 0, False
        try:
            measured = self._loop(study, budget, machine, report)
            complete = True
        finally:
            outcome = report.write(study, complete)
        outcome.measured_here = measured
        return outcome

    def _loop(self, study: Any, budget: int | None, machine: str, report: Any) -> int:
        from optuna.trial import TrialState

        from archbench.search_storage import DUPLICATE, counted, give_back, heartbeat, is_retry, next_trial

        deadline = time.monotonic() + self.settings.timeout_s if self.settings.timeout_s else None
        measured = repeats = 0
        while (trial := next_trial(study, budget, deadline, poll_s=min(2.0, self.settings.heartbeat_s))) is not None:
            try:
                with heartbeat(study._storage, trial._trial_id):
                    values = self.space.suggest(trial)
                    # a retry of a trial whose worker died re-evaluates that point: never a duplicate
                    retry = is_retry(study._storage.get_trial(trial._trial_id))
                    twin = None if retry else duplicate_of(study, trial)
                    if twin is None:
                        result = self._measure(trial.number, values)
                        self._tell(study, trial, result, values, machine)
            except BaseException:  # Ctrl-C, SIGTERM, a crash: the trial goes back to the queue
                give_back(study, trial)
                raise
            if twin is not None:  # not measured, not counted in the budget: the sampler proposes again
                trial.set_user_attr(DUPLICATE, twin)
                study.tell(trial, state=TrialState.PRUNED)
                repeats += 1
                if repeats >= MAX_REPEATS:
                    break
                continue
            repeats = 0
            report.keep(trial.number, result)
            measured += 1
            done = len([t for t in counted(study.get_trials(deepcopy=False)) if t.state.is_finished()])
            self.on_trial(trial.number, done, budget, result, values)
        return measured

    def _measure(self, number: int, values: dict[str, Any]) -> Result:
        """One trial = a one-candidate sweep: the same plan/build/measure/assemble path as `archbench sweep`."""
        from archbench.sweep import Sweep

        name = f"{self.space.base.name}-t{number:04d}"
        try:
            cand = self.space.candidate(values, name)
        except ValueError as exc:  # e.g. heads that do not divide the hidden size: the trial fails, the search goes on
            variant = values.get(next((k for k, p in self.space.params.items() if p.path == "variants"), ""))
            return Result.failed(name, variant or self.space.base.variants[0], self.profile.name,
                                 error=f"the sampled values do not make a valid candidate: {exc}")  # fmt: skip
        config = self.space.config.model_copy(update={"candidates": [cand]})
        # No figures per trial (seconds each, of one point): the search draws the whole front when it writes.
        sweep = Sweep(config, [self.profile], self.run_dir / "trials", self.cache, run_id=f"t{number:04d}",
                      config_file=self.space.file, figures=False)  # fmt: skip
        return sweep.run().results[0]

    def _tell(self, study: Any, trial: Any, result: Result, values: dict[str, Any], machine: str) -> None:
        from optuna.trial import TrialState

        from archbench.pareto import evaluate
        from archbench.search_report import compact

        evaluate([result], {self.profile.name: self.profile})
        result.meta["search"] = {"trial": trial.number, "values": values, "machine": machine}
        trial.set_user_attr("machine", machine)
        trial.set_user_attr("result", compact(result))
        if result.status != "ok":
            trial.set_user_attr("error", (result.error or "")[-500:])
            study.tell(trial, state=TrialState.FAIL)
            return
        for name, value in constraints(result).items():
            trial.set_constraint(name, value)
        study.tell(trial, list(objectives(result, self.profile)))
