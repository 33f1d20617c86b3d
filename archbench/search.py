"""Architecture search with Optuna (ask/tell) over the same build + measure path as `sweep`.

Each trial proposes a built-in architecture, runs it through Sweep (child-process build, cached, and
measurement on the profile), and tells Optuna three objectives — accuracy (max), latency at the
budget's percentile (min), peak memory (min) — plus one constraint per budget via
`trial.set_constraint` (<= 0 satisfied), so the sampler learns where the feasible region is. All
trials' results are judged together: the search's front is the front of everything it measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbench.cache import Cache
from archbench.config import BuiltinCandidate, HardwareProfile, SweepConfig, TrainSettings
from archbench.result import Result

SPACES = ("mlp", "cnn")
BIG = 1e9  # stands in for "unmeasured" in objectives and constraints (Optuna needs finite numbers)


def suggest(trial: Any, family: str) -> dict[str, Any]:
    """The search space of a built-in family (documented in README)."""
    if family == "mlp":
        layers = trial.suggest_int("layers", 1, 4)
        width = trial.suggest_int("width", 8, 1024, log=True)
        return {"hidden": [width] * layers}
    if family == "cnn":
        blocks = trial.suggest_int("blocks", 1, 3)
        base = trial.suggest_int("base_channels", 4, 64, log=True)
        hidden = trial.suggest_int("hidden", 16, 256, log=True)
        return {"channels": [base * 2**i for i in range(blocks)], "hidden": hidden}
    raise ValueError(f"no search space for family {family!r}")


def objectives(result: Result, profile: HardwareProfile) -> tuple[float, float, float]:
    latency = result.latency.get(profile.budget.percentile)
    memory = result.peak_memory_mb
    return (result.accuracy or 0.0, latency if latency is not None else BIG, memory if memory is not None else BIG)


def finite(x: float) -> float:
    return x if math.isfinite(x) else BIG


@dataclass
class SearchOutcome:
    run_dir: Path
    results: list[Result]
    files: dict[str, Path]
    study: Any


def run_search(family: str, profile: HardwareProfile, trials: int, variant: str, out_root: Path, cache: Cache,
               run_id: str, train: TrainSettings, seed: int = 0,
               on_trial: Callable[[int, Result], None] | None = None) -> SearchOutcome:  # fmt: skip
    import optuna

    from archbench import report
    from archbench.env import collect_environment, machine_fingerprint
    from archbench.pareto import evaluate
    from archbench.sweep import Sweep, safe_run_dir

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    run_dir = safe_run_dir(out_root, run_id)
    study = optuna.create_study(
        directions=["maximize", "minimize", "minimize"], sampler=optuna.samplers.TPESampler(seed=seed)
    )
    profiles = {profile.name: profile}
    results: list[Result] = []
    env = collect_environment()
    run_info = {"run_id": run_id, "search": {"family": family, "variant": variant, "trials": trials, "seed": seed},
                "machine": machine_fingerprint(env), "complete": False}  # fmt: skip
    files: dict[str, Path] = {}
    try:
        for i in range(trials):
            trial = study.ask()
            params = suggest(trial, family)
            cand = BuiltinCandidate(name=f"{family}-t{i:03d}", family=family, params=params, variants=[variant])
            config = SweepConfig(candidates=[cand], train=train)
            sweep = Sweep(config, [profile], run_dir / "trials", cache, run_id=f"t{i:03d}")
            result = sweep.run().results[0]
            result.meta["search_params"] = params
            results.append(result)
            evaluate(results, profiles)
            if result.status != "ok":
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                for v in result.verdicts:
                    trial.set_constraint(v.budget, finite(v.constraint) if v.status != "undecided" else
                                         max(finite(v.constraint), 1e-9))  # fmt: skip
                study.tell(trial, list(objectives(result, profile)))
            report.write_result_json(run_dir, results, profiles, env, run_info, complete=False)
            if on_trial:
                on_trial(i, result)
        run_info["complete"] = True
    finally:
        evaluate(results, profiles)
        files = report.write_all(run_dir, results, profiles, env, run_info, run_info["complete"])
    return SearchOutcome(run_dir, results, files, study)
