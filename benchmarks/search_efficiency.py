"""Search efficiency: hypervolume reached against trials spent, NSGA-II vs TPE vs random, relative to the
exhaustive front's hypervolume on a small space.

The grid is measured once for real, through `archbench search --sampler grid` (the normal build +
measure path; the archbench cache keeps every build and measurement, so a rerun measures nothing).
The samplers are then *replayed*: each runs an in-memory Optuna study whose trials look their
objectives and constraints up in the table of measured grid points, over several seeds. This keeps the
benchmark feasible on 2 busy cores; it measures the samplers' choices, not measurement noise.

Each sampler runs one search per budget (--trials = 10/20/30/50% of the grid), as `archbench search`
would: the same make_sampler, and a repeated point is not measured nor counted (search.duplicate_of).
A grid point that failed (the header counts them) is a failed trial in every replay: until the build
cache keeps every variant's artifact (NOTES-search.md, build-cache bug), a space that searches
`variants` can fail points whose architecture was first built for another variant.

    PYTHONPATH=. ARCHBENCH_CACHE=/tmp/x python benchmarks/search_efficiency.py [--seeds 10] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import textwrap
from pathlib import Path
from typing import Any

SPACE = """
task: {kind: digits}
train: {epochs: 6, lr: 0.003, batch_size: 64, seed: 0}
search:
  base: {name: g, kind: builtin, family: mlp, variants: [onnx]}
  params:
    layers: {type: int, low: 1, high: 2}
    width: {type: categorical, choices: [8, 32, 128, 512], path: params.hidden, repeat: layers}
    variant: {type: categorical, choices: [onnx, onnx-int8, torch], path: variants}
"""
PROFILE = """
name: bench-edge
device: cpu
threads: 1
batch_size: 1
budget: {latency_ms: 0.2, percentile: p95, memory_mb: 400, min_accuracy: 0.85}
measure: {max_seconds: 0.3, min_seconds: 0.1, min_samples: 20, max_samples: 2000, warmup: 5, timeout_s: 120,
          throughput_seconds: 0.1, interference_retries: 0, race: false}
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


def replay(space: Any, lookup: dict[str, Any], sampler: str, seed: int, budget: int,
           ref: tuple[float, float, float]) -> list[float]:  # fmt: skip
    """HV after each evaluation of a `--trials budget` search, as archbench search runs it: a proposal that
    repeats an evaluated point is given up unmeasured and not counted (search.duplicate_of)."""
    import optuna

    from archbench import hypervolume
    from archbench.search import DIRECTIONS, MAX_REPEATS, duplicate_of, make_sampler
    from archbench.search_storage import DUPLICATE

    study = optuna.create_study(directions=DIRECTIONS, sampler=make_sampler(sampler, seed, budget))
    points: list[Any] = []
    repeats = 0
    while len(points) < budget and repeats < MAX_REPEATS:
        trial = study.ask()
        values = space.suggest(trial)
        twin = duplicate_of(study, trial)
        if twin is not None:
            trial.set_user_attr(DUPLICATE, twin)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            repeats += 1
            continue
        repeats = 0
        obj, cons, point = lookup[key(values)]
        points.append(point)
        if obj is None:
            trial.set_user_attr("error", "failed in the grid")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        for name, v in cons.items():
            trial.set_constraint(name, v)
        study.tell(trial, obj)
    return hypervolume.history(points, ref)


FRACTIONS = (0.1, 0.2, 0.3, 0.5)


def main() -> None:
    import optuna

    from archbench import hypervolume
    from archbench.search_report import scale, write_hypervolume_png

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--samplers", default="nsga2,tpe,random")
    parser.add_argument("--out", type=Path, default=Path("results/bench-search"))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, profile, results = measure_grid(args.out)
    lookup = table(space, profile, results)
    n = len(lookup)
    ref = scale(profile, results)
    best = hypervolume.history([p for _, _, p in lookup.values()], ref)[-1]
    budgets = [max(1, round(f * n)) for f in FRACTIONS]
    feasible = sum(p is not None for _, _, p in lookup.values())
    failed = sum(o is None for o, _, _ in lookup.values())
    print(
        f"\ngrid: {n} points measured ({failed} failed), {feasible} feasible; exhaustive front hypervolume "
        f"{best:.4f} (normalised by the budgets)"
    )
    print(
        f"replay: {args.seeds} seeds per sampler; one search per budget --trials {budgets} "
        f"({', '.join(f'{f:.0%}' for f in FRACTIONS)} of the grid)\n"
    )
    head = " | ".join(f"HV at {f:.0%} = {b}" for f, b in zip(FRACTIONS, budgets, strict=True))
    print(f"| sampler | {head} | seeds >= 95% at 30% | evaluations to 95% (median) |")
    print("|---|" + "---|" * (len(FRACTIONS) + 2))
    series = {}
    i30 = FRACTIONS.index(0.3)
    for sampler in args.samplers.split(","):
        rows, to95, curves = [], [], []
        for seed in range(args.seeds):
            row = []
            for b in budgets:
                hv = replay(space, lookup, sampler, seed, b, ref)
                row.append(hv[-1] / best if best else 0.0)
            rel = [h / best if best else 0.0 for h in hv]  # the largest budget's run: its curve
            curves.append(rel)
            rows.append(row)
            to95.append(next((i + 1 for i, v in enumerate(rel) if v >= 0.95), None))
        cols = list(zip(*rows, strict=True))
        series[sampler] = [statistics.mean(c[i] for c in curves if i < len(c)) for i in range(budgets[-1])]
        median = statistics.median(t if t is not None else math.inf for t in to95)
        reached = sum(t is not None for t in to95)
        median_text = f"{median:g}" if math.isfinite(median) else f"> {budgets[-1]}"
        median_text += f" ({reached}/{args.seeds} seeds reach 95% within {budgets[-1]})"
        cells = " | ".join(f"{statistics.mean(c):.3f}, {min(c):.3f}" for c in cols)
        print(f"| {sampler} | {cells} | {sum(r[i30] >= 0.95 for r in rows)}/{args.seeds} | {median_text} |", flush=True)
    png = write_hypervolume_png(args.out / "search_efficiency.png", series,
                                f"mean over {args.seeds} seeds: hypervolume / exhaustive front's", 1.0)  # fmt: skip
    print(f"\ncells: mean, min over seeds of the hypervolume reached / the exhaustive front's\nplot: {png}")


if __name__ == "__main__":
    main()
