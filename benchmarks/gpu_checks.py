"""Every GPU check in one short script (under 5 minutes on a machine with a CUDA GPU).

1. the `gpu`-marked tests;
2. the default sweep on the shipped `gpu` profile (fresh cache): front, GPU peak memory, latency;
3. CUDA timing sanity: synchronised wall time vs CUDA events for one model at the profile's batch.

    python benchmarks/gpu_checks.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to check")
        return 0
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    start = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"])
    print(f"gpu tests: exit {rc} ({time.perf_counter() - start:.0f} s)")

    from archbench.cache import Cache
    from archbench.cli import DEFAULT_CANDIDATES
    from archbench.config import load_sweep_config
    from archbench.profiles import resolve
    from archbench.sweep import Sweep

    root = Path(tempfile.mkdtemp(prefix="archbench-gpu-"))
    t0 = time.perf_counter()
    outcome = Sweep(load_sweep_config(DEFAULT_CANDIDATES), [resolve("gpu")], root / "results", Cache(root / "c")).run()
    print(f"\ndefault sweep on the gpu profile: {time.perf_counter() - t0:.0f} s -> {outcome.run_dir}")
    for r in sorted(outcome.results, key=lambda r: (r.candidate, r.variant)):
        if r.status != "ok":
            print(f"  {r.candidate}/{r.variant}: {r.status}: {r.error}")
            continue
        print(f"  {r.candidate}/{r.variant}: acc {r.accuracy:.4f} p50 {r.latency['p50']:.4f} ms "
              f"p99 {r.latency['p99']:.4f} ms gpu peak {r.memory.get('gpu_peak_mb')} MB "
              f"{'FRONT' if r.on_front else r.feasibility}")  # fmt: skip

    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 1024), torch.nn.ReLU(),
                                torch.nn.Linear(1024, 10)).cuda().eval()  # fmt: skip
    x = torch.randn(256, 1, 8, 8, device="cuda")
    with torch.inference_mode():
        for _ in range(20):
            model(x)
        torch.cuda.synchronize()
        walls, events = [], []
        for _ in range(200):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            t = time.perf_counter()
            a.record()
            model(x)
            b.record()
            torch.cuda.synchronize()
            walls.append((time.perf_counter() - t) * 1000)
            events.append(a.elapsed_time(b))
    walls.sort()
    events.sort()
    print(f"\nsynchronised wall p50 {walls[100]:.4f} ms vs CUDA events p50 {events[100]:.4f} ms "
          f"(wall >= events expected; the difference is launch + sync overhead)")  # fmt: skip
    return rc


if __name__ == "__main__":
    sys.exit(main())
