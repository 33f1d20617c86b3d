"""Child-process entry point: `python -m archbench.measure.worker {build|measure} JOB.json OUT.json`.

Everything that runs a candidate's code runs here, one process per job, so a crash, a hang or a
runaway allocation costs one result, never the sweep. Affinity is applied before the heavy imports
so that every thread the runtimes start inherits it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

TEXT_IMPORT_HEADROOM_MB = 3072.0


def main(argv: list[str]) -> int:
    from archbench.measure.runner import die_with_parent

    kind, job_path, out_path = argv
    die_with_parent(Path(job_path).parent)  # first: a sweep killed while we import must not leave us running
    job = json.loads(Path(job_path).read_text())
    if job.get("cores"):
        os.sched_setaffinity(0, job["cores"])
    try:
        payload = {"build": run_build, "measure": run_measure}[kind](job)
        payload["ok"] = True
    except BaseException as exc:
        payload = {"ok": False, "error": describe_failure(exc)}
        if isinstance(exc, KeyboardInterrupt):
            write_json(Path(out_path), payload)
            return 130
    write_json(Path(out_path), payload)
    return 0


def describe_failure(exc: BaseException) -> str:
    from archbench.errors import CandidateError
    from archbench.measure.memory import looks_like_oom

    if looks_like_oom(exc):
        return f"out of memory: {type(exc).__name__}: {_short(exc)}"
    if isinstance(exc, CandidateError):
        return _short(exc)
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" (at {Path(where[0].filename).name}:{where[0].lineno})" if where else ""
    return f"{type(exc).__name__}: {_short(exc)}{at}"


def _short(exc: BaseException, limit: int = 400) -> str:
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


def write_json(path: Path, payload: dict[str, Any]) -> None:
    from archbench import atomic

    atomic.write_text(path, json.dumps(payload, default=float))


# ---- build: train once, export once ----------------------------------------------------------------


def run_build(job: dict[str, Any]) -> dict[str, Any]:
    from archbench.measure.memory import limit_address_space
    from archbench.tasks.base import TaskData

    cand, out_dir, variants = job["candidate"], Path(job["out_dir"]), job["variants"]
    task = TaskData.load(Path(job["task_path"]))
    if task.kind == "text":
        from archbench.candidates.text_build import build_text_candidate

        return build_text_candidate(job, task)
    limit_address_space(job["memory_headroom_mb"])
    if cand["kind"] == "onnx":
        return _build_from_onnx(cand, out_dir, variants)
    return _build_torch(job, cand, task, out_dir, variants)


def _build_from_onnx(cand: dict[str, Any], out_dir: Path, variants: list[str]) -> dict[str, Any]:
    from archbench.backends.export import quantize_variants

    artifacts, errors, timings = {"onnx": cand["path"]}, {}, {}
    quantize_variants(Path(cand["path"]), out_dir, variants, artifacts, errors, timings)
    return {"artifacts": artifacts, "variant_errors": errors, "timings": timings, "params": None}


def _build_torch(job: dict[str, Any], cand: dict[str, Any], task: Any, out_dir: Path,
                 variants: list[str]) -> dict[str, Any]:  # fmt: skip
    import numpy as np
    import torch
    from safetensors.torch import load_file, save_file

    from archbench.backends.export import export_onnx, quantize_variants, verify_onnx
    from archbench.candidates.builtin import count_params
    from archbench.candidates.factory import make_module
    from archbench.candidates.train import train_classifier
    from archbench.errors import CandidateError

    torch.manual_seed(job["train"]["seed"])
    timings: dict[str, float] = {}
    info: dict[str, Any] = {}
    module = make_module(cand, task.sample_shape, task.num_classes)
    t0 = time.perf_counter()
    if cand["kind"] == "import" and cand.get("weights"):
        module.load_state_dict(load_file(cand["weights"]))
    elif not (cand["kind"] == "import" and cand.get("trained")):
        tr = job["train"]
        info.update(train_classifier(module, task.x_train, task.y_train, tr["epochs"], tr["lr"], tr["batch_size"],
                                     tr["seed"], tr["weight_decay"]))  # fmt: skip
    module.eval()
    timings["train_s"] = time.perf_counter() - t0
    weights = out_dir / "weights.safetensors"
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(weights))
    artifacts: dict[str, str] = {"weights": str(weights)}
    errors: dict[str, str] = {}
    onnx_variants = [v for v in variants if v.startswith("onnx")]
    if onnx_variants:
        t0 = time.perf_counter()
        path = out_dir / "model.onnx"
        try:
            info["exporter"] = export_onnx(module, task.x_test[:2], path)
            check = np.concatenate([task.x_test[:7], task.x_test[-1:]])  # odd batch sizes too
            info["export_max_abs_diff"] = verify_onnx(module, path, check)
            artifacts["onnx"] = str(path)
        except CandidateError as exc:
            errors.update({v: str(exc) for v in onnx_variants})
        timings["export_s"] = time.perf_counter() - t0
        if "onnx" in artifacts:
            quantize_variants(path, out_dir, variants, artifacts, errors, timings)
    return {"artifacts": artifacts, "variant_errors": errors, "timings": timings, "params": count_params(module),
            "info": info}  # fmt: skip


# ---- measure: accuracy, latency, memory in one isolated process --------------------------------------


def run_measure(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from archbench.backends import make_runner
    from archbench.config import HardwareProfile
    from archbench.env import sample_machine_state
    from archbench.measure import memory
    from archbench.measure.interference import reference_us
    from archbench.measure.loop import measure_throughput, time_calls, warm_up
    from archbench.measure.stats import StoppingRule
    from archbench.tasks.base import TaskData
    from archbench.tasks.batches import latency_batches

    profile, variant = job["profile"], job["variant"]
    settings, budget = profile["measure"], profile["budget"]
    task = TaskData.load(Path(job["task_path"]))
    state = sample_machine_state()
    # transformers + torch reserve ~1.5 GB of address space on import (after this limit): allow for it.
    memory.limit_address_space(job["memory_headroom_mb"] + (TEXT_IMPORT_HEADROOM_MB if task.kind == "text" else 0))
    runner = make_runner(variant, job["build"], job["candidate"], profile, task.sample_shape, task.num_classes,
                         task_kind=task.kind)  # fmt: skip
    task.x_train, task.y_train = task.x_train[:0], task.y_train[:0]  # not served: keep it out of peak memory

    rng = np.random.default_rng(job.get("seed", 0))
    inputs = [runner.prepare(b) for b in latency_batches(task, profile, rng)]
    hwm_reset = memory.reset_peak_rss()
    load_rss = memory.rss_mb()
    runner.reset_device_peak()
    call = getattr(runner, "timed_call", runner)
    reference = [reference_us()]  # host interference probe: before, at every look, after the timing loop
    with getattr(runner, "run_context", contextlib.nullcontext)():  # e.g. inference_mode, entered once
        warm_up(call, inputs, settings["warmup"])
        getattr(runner, "reset_stages", lambda: None)()  # per-stage times cover the timed loop only
        rule = StoppingRule.for_profile(HardwareProfile.model_validate(profile))
        loop = time_calls(call, inputs, rule, settings.get("fixed_samples"), settings["max_seconds"],
                          on_look=lambda: reference.append(reference_us()))  # fmt: skip
        reference.append(reference_us())
        stages = getattr(runner, "stage_latency_ms", lambda: {})()
        peak_rss = memory.peak_rss_mb()
        mem = {"load_rss_mb": load_rss, "peak_rss_mb": peak_rss, "hwm_reset": hwm_reset}
        if load_rss is not None and peak_rss is not None:
            mem["inference_added_mb"] = max(0.0, peak_rss - load_rss) if hwm_reset else None
        mem.update(runner.device_memory())
        throughput = None
        if profile["batch_size"] > 1 or budget.get("min_throughput"):
            seconds = settings["throughput_seconds"]
            throughput = measure_throughput(call, inputs, profile["batch_size"], seconds)
    acc, slice_acc = _accuracy(runner, task, profile)
    d = loop.decision
    return {
        "samples_ms": loop.samples_ms.round(6).tolist(),
        "decision": None if d is None else {"lower_ms": d.lower_ms, "upper_ms": d.upper_ms,
                                            "alpha_per_look": d.alpha_per_look, "verdict": d.verdict},
        "stop_reason": loop.stop_reason,
        "loop_wall_s": loop.wall_s,
        "memory": mem,
        "throughput": throughput,
        "accuracy": acc,
        "slice_accuracy": slice_acc,
        "model_bytes": runner.model_bytes,
        "machine_state": state,
        "reference_us": [round(r, 3) for r in reference],
        "stage_latency_ms": stages,
        "padding_policy": getattr(runner, "padding_policy", None),
    }  # fmt: skip


def _accuracy(runner: Any, task: Any, profile: dict[str, Any]) -> tuple[float, dict[str, dict[str, float]]]:
    import numpy as np

    from archbench.tasks.batches import accuracy_batches

    preds = []
    for batch in accuracy_batches(task, profile):
        preds.append(runner.logits(runner(runner.prepare(batch))).argmax(axis=-1))
    pred = np.concatenate(preds)
    correct = pred == task.y_test
    slices = {name: {"accuracy": float(correct[idx].mean()) if len(idx) else float("nan"), "n": len(idx)}
              for name, idx in task.slices.items()}  # fmt: skip
    return float(correct.mean()), slices


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
