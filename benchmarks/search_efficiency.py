"""Search efficiency: hypervolume reached against trials spent, NSGA-II vs TPE vs random, relative to the
exhaustive front's hypervolume on a small space.

The grid is measured once for real, through `archbench search --sampler grid` (the normal build +
measure path; the archbench cache keeps every build and measurement, so a rerun measures nothing).
The samplers are then *replayed*: each runs an in-memory Optuna study whose trials look their
objectives and constraints up in the table of measured grid points, over several seeds. This keeps the
benchmark feasible on 2 busy cores; it measures the samplers' choices, not measurement noise.

    PYTHONPATH=. ARCHBENCH_CACHE=/tmp/x python benchmarks/search_efficiency.py [--seeds 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import textwrap
from pathlib import Path
from typing import Any

SPACE = """
task: {kind: digits}
train: {epochs: 8, lr: 0.003, batch_size: 64, seed: 0}
search:
  base: {name: g, kind: builtin, family: mlp, variants: [onnx]}
  params:
    layers: {type: int, low: 1, high: 2}
    width: {type: categorical, choices: [8, 32, 128], path: params.hidden, repeat: layers}
    variant: {type: categorical, choices: [onnx, onnx-int8], path: variants}
"""
PROFILE = """
name: bench-edge
device: cpu
threads: 1
batch_size: 1
budget: {latency_ms: 0.2, percentile: p95, memory_mb: 400, min_accuracy: 0.85}
measure: {max_seconds: 0.5, min_samples: 20, max_samples: 2000, warmup: 5, timeout_s: 120}
"""


def measure_grid(out: Path) -> tuple[Any, Any, list[Any]]:
    """Every grid point measured once (cached); returns (space, profile, the grid run's results)."""
    from archbench.cache import Cache
    from archbench.config import load_profile
    from archbench.search import Search, SearchSettings
    from archbench.search_space import load_search_space

    out.mkdir(parents=True, exist_ok=True)
    (out / "space.yaml").write_text(textwrap.dedent(SPACE))
    (out / "profile.yaml").write_text(textwrap.dedent(PROFILE))
    space, profile = load_search_space(out / "space.yaml"), load_profile(out / "profile.yaml")
    outcome = Search(space, profile, SearchSettings(sampler="grid"), out / "runs", Cache(), "grid",
                     on_trial=lambda n, d, b, r, v: print(f"grid point {d}/{b}: {v}", flush=True)).run()  # fmt: skip
    return space, profile, outcome.results


def table(space: Any, profile: Any, results: list[Any]) -> dict[str, tuple[Any, Any, Any]]:
    """Parameter key -> (objective values, constraints, the min-form point for hypervolume or None)."""
    from archbench.search import constraints, objectives

    out = {}
    for r in results:
        values = r.meta["search"]["values"]
        obj = objectives(r, profile)
        point = (1 - obj[0], obj[1], obj[2]) if r.feasibility == "feasible" else None
        out[key(values)] = (list(obj) if r.status == "ok" else None, constraints(r), point)
    return out


def key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True)


def replay(space: Any, lookup: dict[str, Any], sampler: str, seed: int, trials: int,
           ref: tuple[float, float, float]) -> tuple[list[float], list[int]]:  # fmt: skip
    """HV after each trial, and how many distinct points had been evaluated by then."""
    import optuna

    from archbench import hypervolume
    from archbench.search import DIRECTIONS, make_sampler

    study = optuna.create_study(directions=DIRECTIONS, sampler=make_sampler(sampler, seed, trials))
    points: list[Any] = []
    seen: set[str] = set()
    distinct = []
    for _ in range(trials):
        trial = study.ask()
        values = space.suggest(trial)
        obj, cons, point = lookup[key(values)]
        seen.add(key(values))
        distinct.append(len(seen))
        points.append(point)
        if obj is None:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        for name, v in cons.items():
            trial.set_constraint(name, v)
        study.tell(trial, obj)
    return hypervolume.history(points, ref), distinct


def main() -> None:
    import optuna

    from archbench import hypervolume
    from archbench.search_report import scale, write_hypervolume_png

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("results/bench-search"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, profile, results = measure_grid(args.out)
    lookup = table(space, profile, results)
    n = len(lookup)
    ref = scale(profile, results)
    best = hypervolume.history([p for _, _, p in lookup.values()], ref)[-1]
    budget30 = max(1, int(0.3 * n))
    feasible = sum(p is not None for _, _, p in lookup.values())
    print(f"\ngrid: {n} points measured, {feasible} feasible; exhaustive front hypervolume {best:.4f} "
          f"(normalised by the budgets)")
    print(f"replay: {args.seeds} seeds per sampler, {n} trials each; 30% of the grid = {budget30} trials\n")
    print("| sampler | HV at 30% (mean, min) | seeds >= 95% at 30% | trials to 95% (median) | distinct points at 30% |")
    print("|---|---|---|---|---|")
    series = {}
    for sampler in ("nsga2", "tpe", "random"):
        at30, to95, distinct30, curves = [], [], [], []
        for seed in range(args.seeds):
            hv, distinct = replay(space, lookup, sampler, seed, n, ref)
            rel = [h / best if best else 0.0 for h in hv]
            curves.append(rel)
            at30.append(rel[budget30 - 1])
            to95.append(next((i + 1 for i, v in enumerate(rel) if v >= 0.95), n + 1))
            distinct30.append(distinct[budget30 - 1])
        series[sampler] = [statistics.mean(c[i] for c in curves) for i in range(n)]
        print(f"| {sampler} | {statistics.mean(at30):.3f}, {min(at30):.3f} | "
              f"{sum(a >= 0.95 for a in at30)}/{args.seeds} | {statistics.median(to95):g} | "
              f"{statistics.mean(distinct30):.1f} |")
    png = write_hypervolume_png(args.out / "search_efficiency.png", series,
                                f"mean over {args.seeds} seeds: hypervolume / exhaustive front's", 1.0)  # fmt: skip
    print(f"\nplot: {png}")


if __name__ == "__main__":
    main()
