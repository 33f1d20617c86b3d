"""Cost of the default sweep: wall time and its split, the cache, and adaptive stopping vs fixed counts.

One run, side by side:
1. the default sweep from an empty cache (issue 2): wall time, split into training, export (+ int8
   quantisation), measuring, and the rest (process start-up, data, reports);
2. the same sweep again, unchanged (issue 3): served from the cache;
3. adaptive stopping against a fixed sample count (no adaptive stopping, no time cap), both with
   re-measuring of disturbed measurements off: measuring time, and whether both reach the same latency
   verdicts; 1,000 samples, and the count the adaptive run's hardest decided verdict needed (rounded up
   to a thousand).

    python benchmarks/sweep_cost.py [--skip-fixed]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from archbench.cache import Cache
from archbench.cli import DEFAULT_CANDIDATES
from archbench.config import load_sweep_config
from archbench.profiles import default_profiles
from archbench.sweep import Sweep


def timed_sweep(config, profiles, out: Path, cache: Cache, run_id: str):
    start = time.perf_counter()
    outcome = Sweep(config, profiles, out, cache, run_id=run_id).run()
    return outcome, time.perf_counter() - start


def split(outcome) -> dict[str, float]:
    builds = {}
    for r in outcome.results:
        if r.meta.get("build_key") and not r.meta.get("cached"):
            builds[r.meta["build_key"]] = r.timings
    measured = [r for r in outcome.results if r.status == "ok" and not r.meta.get("cached")]
    return {
        "train": sum(t.get("train_s", 0) for t in builds.values()),
        "export+quantize": sum(t.get("export_s", 0) + t.get("quantize_s", 0) for t in builds.values()),
        "measure": sum(r.timings.get("measure_s", 0) for r in measured),
    }


def loop_seconds(outcome) -> float:
    return sum(r.timings.get("latency_loop_s", 0) for r in outcome.results if r.status == "ok")


def latency_verdicts(outcome) -> dict[tuple, str]:
    return {r.key: v.status for r in outcome.results for v in r.verdicts if v.budget.startswith("latency")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-fixed", action="store_true")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="archbench-sweep-bench-"))
    config = load_sweep_config(DEFAULT_CANDIDATES)
    profiles = [p for p in default_profiles() if p.device == "cpu"]
    cache = Cache(root / "cache")

    first, wall1 = timed_sweep(config, profiles, root / "results", cache, "first")
    parts = split(first)
    n_ok = sum(r.status == "ok" for r in first.results)
    print(f"default sweep, empty cache: {wall1:.1f} s wall for {n_ok} measured results "
          f"({len(config.candidates)} candidates x variants x {len(profiles)} CPU profiles)")  # fmt: skip
    for name, secs in parts.items():
        print(f"  {name:<16} {secs:7.1f} s  {secs / wall1:6.1%}")
    rest = wall1 - sum(parts.values())
    print(f"  {'other':<16} {rest:7.1f} s  {rest / wall1:6.1%}  (child start-up, data, reports)")
    print("  " + interference_line(first))

    second, wall2 = timed_sweep(config, profiles, root / "results", cache, "second")
    cached = sum(bool(r.meta.get("cached")) for r in second.results if r.status == "ok")
    print(f"\nsecond, unchanged sweep: {wall2:.1f} s ({cached}/{n_ok} results from cache); "
          f"second/first = {wall2 / wall1:.3f}")  # fmt: skip

    if args.skip_fixed:
        return
    # Adaptive stopping vs a fixed count, with re-measuring of disturbed measurements off in both: how
    # many retries a noisy host forces is luck, and would swamp the difference between stopping rules.
    quiet = with_measure(profiles, interference_retries=0)
    adaptive, _ = timed_sweep(config, quiet, root / "results", Cache(root / "cache", reuse_measurements=False),
                              "adaptive")  # fmt: skip
    adaptive_s, loop_a = split(adaptive)["measure"], loop_seconds(adaptive)
    va = latency_verdicts(adaptive)
    # "A fixed large sample count reaching the same verdicts": 1,000 (the usual choice), and the fixed
    # count that adaptive stopping's hardest decided verdict needed, rounded up to a thousand.
    decided_n = [len(r.latency_samples_ms) for r in adaptive.results
                 if r.status == "ok" and va.get(r.key) in ("pass", "fail")]  # fmt: skip
    counts = sorted({1000, max(1000, -(-max(decided_n, default=1000) // 1000) * 1000)})
    print("\nstopping rules compared with re-measuring off (interference_retries: 0) in every run:")
    for n in counts:
        fixed_profiles = with_measure(quiet, fixed_samples=n, max_samples=n, max_seconds=600.0)
        fixed, _ = timed_sweep(config, fixed_profiles, root / "results", cache, f"fixed{n}")
        fixed_s, loop_f = split(fixed)["measure"], loop_seconds(fixed)
        vf = latency_verdicts(fixed)
        same = sum(va[k] == vf.get(k) for k in va)
        differ = [f"{'/'.join(k)}: adaptive {va[k]}, fixed {vf.get(k)}" for k in va if va[k] != vf.get(k)]
        print(f"measuring time, adaptive vs fixed {n:,} samples: {adaptive_s:.1f} s vs {fixed_s:.1f} s; "
              f"ratio {adaptive_s / fixed_s:.3f} (target <= 0.5)")  # fmt: skip
        print(f"  of which the timing loops: {loop_a:.1f} s vs {loop_f:.1f} s; ratio {loop_a / loop_f:.3f} "
              "(the rest is per-child start-up, model load, warm-up, throughput and accuracy: the same in both)")
        print(f"  same latency verdict in {same}/{len(va)} results")
        for line in differ:
            print("    differs:", line)


def interference_line(outcome) -> str:
    ok = [r for r in outcome.results if r.status == "ok"]
    retries = sum(sum(r.meta.get("measure_attempts") or [1]) - len(r.meta.get("measure_attempts") or [1]) for r in ok)
    return f"host interference: {retries} re-measurements, {sum(r.disturbed for r in ok)} still disturbed"


def with_measure(profiles, **settings):
    """The same profiles with some measure settings changed."""
    return [p.model_copy(update={"measure": p.measure.model_copy(update=settings)}) for p in profiles]


if __name__ == "__main__":
    main()
