"""The build phase: every candidate trained and exported once, in its own child, cached by content.

A build holds every artifact its variants need (weights, the ONNX export, int8 files, tokenizer). A
failed build is data (`BuildOutput.error`); a variant that could not be produced is recorded in
`variant_errors`, and the other variants still get measured.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from archbench.cache import Cache
from archbench.config import HardwareProfile, SweepConfig
from archbench.jobs import BuildJob, BuildOutput, parse
from archbench.plan import PreparedTask, build_key

BUILD_TIMEOUT_S = 1800.0
Progress = Callable[[str, int, int, str], None]  # (phase, done, total, label)


def memory_headroom_mb(profiles: list[HardwareProfile]) -> float:
    """Address space a build child may use: generous, but a runaway allocation still fails alone."""
    return max(4096.0, 4 * max((p.budget.memory_mb or 0) for p in profiles))


def build_all(candidates: list[Any], config: SweepConfig, task: PreparedTask, profiles: list[HardwareProfile],
              cache: Cache, progress: Progress) -> dict[str, BuildOutput]:  # fmt: skip
    from archbench.env import library_versions

    versions = library_versions()
    builds: dict[str, BuildOutput] = {}
    for i, cand in enumerate(candidates):
        key = build_key(cand, config, task.fingerprint, versions)
        reused = serves(parse(BuildOutput, cache.get_build(key)), cand.variants)  # for the log; decided in build_one
        progress("build", i, len(candidates), f"{cand.name} (cached)" if reused else cand.name)
        # A concurrent sweep building the same candidate would wipe this build dir: wait, then reuse its build.
        with cache.build_lock(key):
            builds[cand.name] = build_one(cand, key, config, task, memory_headroom_mb(profiles), cache)
    progress("build", len(candidates), len(candidates), "")
    return builds


def serves(cached: Any, variants: list[str]) -> bool:
    """Whether a cached build (or None) succeeded and made every variant asked for."""
    return cached is not None and cached.error is None and set(variants) <= set(cached.variants)


def build_one(cand: Any, key: str, config: SweepConfig, task: PreparedTask, headroom: float,
              cache: Cache) -> BuildOutput:  # fmt: skip
    from archbench.measure.runner import run_child

    cached = parse(BuildOutput, cache.get_build(key))
    wanted = list(cand.variants)
    if serves(cached, wanted):
        return cached  # type: ignore[return-value]
    if cached is not None and cached.error is None:
        # The key leaves the variants out (one training serves them all), but this build made fewer than
        # asked for now (a search over variants): build again for both sets, so neither is lost.
        wanted = list(dict.fromkeys([*cached.variants, *wanted]))  # type: ignore[attr-defined]
    out_dir = cache.new_build_dir(key)
    job = BuildJob(candidate=cand.model_dump(mode="json"), train=config.train_settings(cand),
                   task_path=str(task.path), out_dir=str(out_dir), variants=wanted,
                   memory_headroom_mb=headroom)  # fmt: skip
    outcome = run_child("build", job.model_dump(mode="json"), timeout_s=BUILD_TIMEOUT_S, threads=None)
    build = parse(BuildOutput, outcome.payload) if outcome.payload is not None else None
    if build is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        return BuildOutput(build_key=key, error=outcome.error or "the build child's answer did not validate")
    build.build_key, build.build_wall_s, build.variants = key, outcome.wall_s, wanted  # type: ignore[attr-defined]
    cache.put_build(key, build.model_dump(mode="json"))
    return build  # type: ignore[return-value]
