"""Repeatability: five fresh measurements of the same candidates, against a bare pinned timing loop.

For each model: the spread (max/min) of p50 over five archbench measurements (each its own child
process, pinned as the edge-1t profile says), beside the spread of five bare ONNX Runtime loops
pinned the same way, measured alternately in the same run. Then whether front membership is
identical over the five repeats of the whole (small) sweep, or differs only through undecided
verdicts.

    python benchmarks/repeatability.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from archbench.cache import Cache
from archbench.config import SweepConfig
from archbench.profiles import resolve
from archbench.sweep import Sweep
from benchmarks._common import bare_ort_loop

CANDIDATES = [
    {"name": "mlp-small", "kind": "builtin", "family": "mlp", "params": {"hidden": [64]}},
    {"name": "mlp-deep", "kind": "builtin", "family": "mlp", "params": {"hidden": [256, 256, 256, 256]}},
    {"name": "cnn-small", "kind": "builtin", "family": "cnn", "params": {"channels": [8, 16], "hidden": 32}},
    {"name": "cnn-large", "kind": "builtin", "family": "cnn", "params": {"channels": [32, 64, 128], "hidden": 128}},
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="archbench-repeat-"))
    config = SweepConfig.model_validate(
        {"candidates": [{**c, "variants": ["onnx", "onnx-int8"]} for c in CANDIDATES], "train": {"epochs": 10}}
    )
    profile = resolve("edge-1t")
    ours: dict[tuple, list[float]] = {}
    disturbed: dict[tuple, list[bool]] = {}
    bare: dict[str, list[float]] = {}
    fronts: list[set] = []
    undecided: list[set] = []
    for i in range(args.repeats):
        cache = Cache(root / "cache", reuse_measurements=False)  # builds reused, every measurement fresh
        outcome = Sweep(config, [profile], root / "results", cache, run_id=f"rep{i}").run()
        fronts.append({r.key[:2] for r in outcome.results if r.on_front})
        undecided.append({r.key[:2] for r in outcome.results if r.feasibility == "undecided" or r.disturbed})
        for r in outcome.results:
            if r.status == "ok":
                ours.setdefault(r.key[:2], []).append(r.latency["p50"])
                disturbed.setdefault(r.key[:2], []).append(r.disturbed)
        task_path = next((root / "cache" / "data").glob("*.npz"))
        for r in outcome.results:
            if r.variant == "onnx" and r.status == "ok":
                build = Cache(root / "cache").get_build(r.meta["build_key"])
                samples = bare_ort_loop(build["artifacts"]["onnx"], profile, task_path, n=2000)["samples_ms"]
                bare.setdefault(r.candidate, []).append(statistics.median(samples))

    print(f"p50 spread (max/min) over {args.repeats} fresh measurements, edge-1t (1 pinned thread, batch 1); "
          "* = flagged disturbed (ran on a slowed core through every attempt)\n")  # fmt: skip
    print(f"{'candidate/variant':<24} {'archbench p50s (ms)':<50} {'spread':>7} {'undisturbed':>12} {'bare':>7}")
    for key, p50s in sorted(ours.items()):
        spread = max(p50s) / min(p50s)
        quiet = [x for x, d in zip(p50s, disturbed[key], strict=True) if not d]
        quiet_txt = f"{max(quiet) / min(quiet):.3f}" if quiet else "-"
        b = bare.get(key[0]) if key[1] == "onnx" else None
        bare_txt = f"{max(b) / min(b):.3f}" if b else "-"
        cells = " ".join(f"{x:.4f}{'*' if d else ' '}" for x, d in zip(p50s, disturbed[key], strict=True))
        print(f"{'/'.join(key):<24} {cells:<50} {spread:>7.3f} {quiet_txt:>12} {bare_txt:>7}")
    same = all(f == fronts[0] for f in fronts)
    print(f"\nfront identical over {args.repeats} repeats: {same}")
    if not same:
        union = set().union(*fronts)
        for key in sorted(union):
            inside = sum(key in f for f in fronts)
            und = sum(key in u for u in undecided)
            n = args.repeats
            print(f"  {'/'.join(key)}: on the front {inside}/{n}, undecided or disturbed {und}/{n}")


if __name__ == "__main__":
    main()
