"""Do fresh runs contradict each other? Verdicts from one process per job against verdicts every process
agrees on (`repeats: 3`), measured alternately in one run of this script.

Each round sweeps the same candidates on edge-1t and server-2t twice, fresh measurements over cached builds:
once with `repeats: 1` (the default), once with `repeats: 3`. For each setting it counts, over every pair of
rounds, the results whose verdicts contradict (feasible in one round, infeasible in the other), the
undecided ones, and the wall time.

    python benchmarks/process_agreement.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from archbench.cache import Cache
from archbench.config import SweepConfig
from archbench.profiles import resolve
from archbench.sweep import Sweep

CANDIDATES = [
    {"name": "mlp-small", "kind": "builtin", "family": "mlp", "params": {"hidden": [64]}},
    {"name": "cnn-small", "kind": "builtin", "family": "cnn", "params": {"channels": [8, 16], "hidden": 32}},
]
VARIANTS = ["torch", "torch-int8", "onnx", "onnx-int8", "onnx-int8-pc"]
SETTINGS = (1, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="archbench-agree-"))
    profiles = [resolve("edge-1t"), resolve("server-2t")]
    verdicts: dict[int, list[dict[tuple, str]]] = {n: [] for n in SETTINGS}
    wall: dict[int, float] = dict.fromkeys(SETTINGS, 0.0)
    for i in range(args.rounds):
        for n in SETTINGS:  # alternated: the host's mood in a round hits both settings
            config = SweepConfig.model_validate({"candidates": [{**c, "variants": VARIANTS} for c in CANDIDATES],
                                                 "train": {"epochs": 25, "lr": 0.002}, "repeats": n})  # fmt: skip
            cache = Cache(root / "cache", reuse_measurements=False)  # builds reused, every measurement fresh
            start = time.monotonic()
            outcome = Sweep(config, profiles, root / "results", cache, run_id=f"r{i}-x{n}", figures=False).run()
            wall[n] += time.monotonic() - start
            verdicts[n].append({r.key: r.feasibility for r in outcome.results})
            print(f"round {i + 1}/{args.rounds}, repeats {n}: {time.monotonic() - start:.0f} s", flush=True)

    print(f"\n{args.rounds} rounds, {len(CANDIDATES) * len(VARIANTS) * len(profiles)} results a sweep, "
          "pairs of rounds compared per result\n")  # fmt: skip
    print(f"{'repeats':>8} {'contradictions':>15} {'of pairs':>9} {'undecided':>10} {'of results':>11} {'s/sweep':>8}")
    for n in SETTINGS:
        runs = verdicts[n]
        keys = sorted(runs[0])
        pairs = list(itertools.combinations(runs, 2))
        contradict = sum({a[k], b[k]} == {"feasible", "infeasible"} for a, b in pairs for k in keys)
        undecided = sum(run[k] == "undecided" for run in runs for k in keys)
        print(f"{n:>8} {contradict:>15} {len(pairs) * len(keys):>9} {undecided:>10} {len(runs) * len(keys):>11} "
              f"{wall[n] / len(runs):>8.0f}")  # fmt: skip
        for k in keys:
            seen = [run[k] for run in runs]
            if "feasible" in seen and "infeasible" in seen:
                print(f"{'':>8}   {'/'.join(k)}: {' '.join(seen)}")


if __name__ == "__main__":
    main()
