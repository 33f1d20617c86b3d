"""Shared pieces for the benchmarks: build a candidate once, measure through archbench, bare loops."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from archbench.cache import Cache, content_key
from archbench.config import HardwareProfile, TrainSettings
from archbench.measure.runner import child_env, run_child
from archbench.tasks import load_task


def digits_task_path(cache: Cache) -> Path:
    from archbench.tasks.digits import DigitsTaskSpec

    task = load_task(DigitsTaskSpec())
    path = cache.data_path(task.fingerprint())
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        task.save(path)
    return path


def build(cand: dict[str, Any], cache: Cache, epochs: int = 10) -> dict[str, Any]:
    """Train + export + quantize one candidate in a build child (cached under the benchmark's cache)."""
    from archbench.jobs import JOB_SCHEMA, BuildJob, BuildOutput

    train = TrainSettings(epochs=epochs)
    task_path = digits_task_path(cache)
    key = content_key("bench-build", JOB_SCHEMA, cand, train.model_dump(mode="json"), task_path.name)
    cached = cache.get_build(key)
    if cached:
        return cached
    out = cache.new_build_dir(key)
    job = BuildJob(candidate=cand, train=train, task_path=str(task_path), out_dir=str(out),
                   variants=["torch", "onnx", "onnx-int8"], memory_headroom_mb=4096)  # fmt: skip
    outcome = run_child("build", job.model_dump(mode="json"), timeout_s=900)
    if outcome.payload is None:
        raise RuntimeError(outcome.error)
    payload = BuildOutput.model_validate({k: v for k, v in outcome.payload.items() if k != "ok"})
    cache.put_build(key, payload.model_dump(mode="json"))
    return payload.model_dump(mode="json")


def archbench_measure(build_payload: dict[str, Any], cand: dict[str, Any], profile: HardwareProfile,
                      variant: str, cache: Cache, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    from archbench.jobs import MeasureJob

    job = MeasureJob(variant=variant, build=build_payload, candidate=cand, profile=profile,
                     task_path=str(digits_task_path(cache)), seed=seed, memory_headroom_mb=2048)  # fmt: skip
    outcome = run_child("measure", job.model_dump(mode="json"), timeout_s=600, threads=profile.threads)
    if outcome.payload is None:
        raise RuntimeError(outcome.error)
    return outcome.payload


BARE_LOOP = r"""
import json, os, sys, time
cfg = json.loads(sys.argv[1])
if cfg["cores"]:
    os.sched_setaffinity(0, cfg["cores"])
import numpy as np, onnxruntime as ort
from archbench.measure.interference import reference_us
opts = ort.SessionOptions()
opts.intra_op_num_threads = cfg["threads"]
opts.inter_op_num_threads = 1
sess = ort.InferenceSession(cfg["path"], opts, providers=["CPUExecutionProvider"])
name = sess.get_inputs()[0].name
with np.load(cfg["task"]) as z:
    x = z["x_test"]
rng = np.random.default_rng(0)
feeds = [{name: x[rng.integers(0, len(x), cfg["batch"])]} for _ in range(64)]
reference = [reference_us()]  # outside the timed loop: how fast the core ran, as archbench probes it
for i in range(cfg["warmup"]):
    sess.run(None, feeds[i % 64])
clock = time.perf_counter_ns
out = []
for i in range(cfg["n"]):
    f = feeds[i % 64]
    t0 = clock()
    sess.run(None, f)
    t1 = clock()
    out.append(t1 - t0)
reference.append(reference_us())
print(json.dumps({"samples_ms": [t / 1e6 for t in out], "reference_us": reference}))
"""


def bare_ort_loop(onnx_path: str, profile: HardwareProfile, task_path: Path, n: int,
                  warmup: int = 200) -> dict[str, list[float]]:  # fmt: skip
    """The simplest honest timing loop over the same session settings, in its own pinned process.

    Returns its samples and two reference-kernel readings (before warm-up, after the loop), so a
    benchmark can tell a bare loop that ran on a slow core from one that did not.
    """
    cfg = {"path": onnx_path, "threads": profile.threads, "cores": profile.cores, "task": str(task_path),
           "batch": profile.batch_size, "n": n, "warmup": warmup}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", BARE_LOOP, json.dumps(cfg)], capture_output=True, text=True,
                          env=child_env(profile.threads), check=True)  # fmt: skip
    return json.loads(proc.stdout)


def temp_cache() -> Cache:
    return Cache(Path(tempfile.mkdtemp(prefix="archbench-bench-")))
