"""Child-process entry point: `python -m archbench.measure.worker {build|measure} JOB.json OUT.json`.

Everything that runs a candidate's code runs here, one process per job, so a crash, a hang or a
runaway allocation costs one result, never the sweep. The job and the answer are typed
(archbench/jobs.py) and validated on both sides. Affinity is applied before the heavy imports so that
every thread the runtimes start inherits it. The candidate's kind and the variant come from the
registries (archbench/registry.py): this module never asks which kind it holds.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from archbench.jobs import BuildJob, BuildOutput, MeasureJob, MeasurePayload


def main(argv: list[str]) -> int:
    from archbench.measure.runner import die_with_parent

    kind, job_path, out_path = argv
    die_with_parent(Path(job_path).parent)  # first: a sweep killed while we import must not leave us running
    raw = json.loads(Path(job_path).read_text())
    if raw.get("profile", {}).get("cores"):
        os.sched_setaffinity(0, raw["profile"]["cores"])
    try:
        if kind == "build":
            answer: dict[str, Any] = run_build(BuildJob.model_validate(raw)).model_dump(mode="json")
        else:
            answer = run_measure(MeasureJob.model_validate(raw)).model_dump(mode="json")
        answer = {"ok": True, **answer}  # flat: the runner reads "ok" and "error" beside the fields
    except BaseException as exc:
        answer = {"ok": False, "error": describe_failure(exc)}
        if isinstance(exc, KeyboardInterrupt):
            write_json(Path(out_path), answer)
            return 130
    write_json(Path(out_path), answer)
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


def run_build(job: BuildJob) -> BuildOutput:
    """Train once, export once: the candidate's kind does it; a runaway build fails alone."""
    from archbench.measure.memory import limit_address_space
    from archbench.registry import candidate_kind
    from archbench.tasks.base import TaskData

    kind = candidate_kind(job.candidate["kind"])()
    task = TaskData.load(Path(job.task_path))
    limit_address_space(job.memory_headroom_mb + kind.import_headroom_mb)
    return kind.build(job, task)


def run_measure(job: MeasureJob) -> MeasurePayload:
    """Accuracy, latency and memory of one (candidate, variant, profile) in this isolated process."""
    import numpy as np

    from archbench.env import sample_machine_state
    from archbench.measure import memory
    from archbench.measure.interference import reference_us
    from archbench.measure.loop import time_calls, warm_up
    from archbench.measure.runqueue import RunQueueWatch
    from archbench.measure.stats import StoppingRule
    from archbench.measure.throughput import time_back_to_back
    from archbench.registry import candidate_kind, variant
    from archbench.tasks.base import TaskData
    from archbench.tasks.batches import latency_batches

    profile, settings = job.profile, job.profile.measure
    task = TaskData.load(Path(job.task_path))
    state = sample_machine_state()
    kind = candidate_kind(job.candidate["kind"])()
    memory.limit_address_space(job.memory_headroom_mb + kind.import_headroom_mb)
    adapter = kind.input_adapter(job.build, profile, task)
    runner = variant(job.variant).runner(job.build, lambda: kind.load_module(job.build, job.candidate, task),
                                         adapter, profile)  # fmt: skip
    task.x_train, task.y_train = task.x_train[:0], task.y_train[:0]  # not served: keep it out of peak memory

    rng = np.random.default_rng(job.seed)
    pool = [runner.prepare(b) for b in latency_batches(task, profile.batch_size, rng)]
    hwm_reset = memory.reset_peak_rss()
    load_rss = memory.rss_mb()
    runner.reset_device_peak()
    call = runner.timed_call
    reference = [reference_us()]  # host interference probe: before and after the timing loop
    with runner.run_context():  # e.g. inference_mode, entered once
        # warm-up takes no more than the measurement itself may (a tiny max_seconds means a quick check)
        warmup_cap = min(2.0, max(0.5, settings.max_seconds))
        warmup_calls, per_call_s = warm_up(call, pool, settings.warmup, max_seconds=warmup_cap)
        runner.reset_stages()  # per-stage times cover the timed loop only
        rule = StoppingRule.for_profile(profile, per_call_ms=round(per_call_s * 1e3, 6))
        watch = RunQueueWatch()
        loop = time_calls(call, pool, rule, settings.fixed_samples, settings.max_seconds,
                          min_seconds=settings.min_seconds, rng=rng)  # fmt: skip
        waited_ms, switches = watch.stop()
        reference.append(reference_us())
        stages = runner.stage_latency_ms()
        peak_rss = memory.peak_rss_mb()
        mem = {"load_rss_mb": load_rss, "peak_rss_mb": peak_rss, "hwm_reset": hwm_reset}
        if load_rss is not None and peak_rss is not None and hwm_reset:
            mem["inference_added_mb"] = max(0.0, peak_rss - load_rss)
        mem.update(runner.device_memory())
        throughput = None
        if profile.batch_size > 1 or profile.budget.min_throughput:
            throughput = time_back_to_back(call, pool, profile.batch_size, settings.throughput_seconds)
    predictions = _predictions(runner, task, profile.batch_size)
    return MeasurePayload(
        samples_ms=loop.samples_ms.round(6).tolist(), stop_reason=loop.stop_reason, loop_wall_s=loop.wall_s,
        memory=mem, throughput=throughput.items_per_s if throughput else None,
        throughput_groups=[round(r, 3) for r in throughput.groups] if throughput else [],
        predictions=predictions, model_bytes=runner.model_bytes,
        machine_state=state, reference_us=[round(r, 3) for r in reference],
        run_queue={"wait_ms": waited_ms, "involuntary_switches": switches, "loop_ms": loop.wall_s * 1e3},
        stage_latency_ms=stages, padding_policy=runner.padding_policy, warmup_calls=warmup_calls,
        per_call_ms=round(per_call_s * 1e3, 6), fixed_samples=settings.fixed_samples,
        distinct_requests=len(pool),
        discarded_samples=loop.discarded_samples,
    )  # fmt: skip


def _predictions(runner: Any, task: Any, batch_size: int) -> list[int]:
    """The whole test set through the deployed runtime, in order: metrics are derived from these."""
    import numpy as np

    from archbench.tasks.batches import accuracy_batches

    preds = [runner.logits(runner(runner.prepare(b))).argmax(axis=-1) for b in accuracy_batches(task, batch_size)]
    return np.concatenate(preds).astype(int).tolist()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
