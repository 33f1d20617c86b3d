"""The build cache key leaves variants out; a cached build made for fewer variants is built again for both."""

from __future__ import annotations

from typing import Any

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.measure.runner import ChildOutcome
from tests.conftest import TINY_PROFILE, write


class Builds:
    """Stands in for the build child: records the variants asked for, makes an artifact per variant."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def __call__(self, kind: str, job: dict[str, Any], timeout_s: float, threads: int | None = None) -> ChildOutcome:
        from archbench.jobs import BuildJob, BuildOutput

        job = BuildJob.model_validate(job)
        self.asked.append(list(job.variants))
        artifacts = {"weights": "w.safetensors", **{v: f"{v}.onnx" for v in job.variants if v.startswith("onnx")}}
        return ChildOutcome(BuildOutput(artifacts=artifacts).model_dump(mode="json"), None, 10.0, 0.1)


def test_a_build_for_other_variants_is_made_again_for_both(tmp_path, monkeypatch):
    from archbench.build import build_all
    from archbench.plan import prepare_task

    builds = Builds()
    monkeypatch.setattr("archbench.measure.runner.run_child", builds)
    prof = load_profile(write(tmp_path / "p.yaml", TINY_PROFILE.format(name="p", device="cpu", batch=1)))
    cache = Cache(tmp_path / "cache")

    def build(variants: str):
        text = f"candidates:\n  - {{name: m, kind: builtin, family: mlp, variants: [{variants}]}}\n"
        config = load_sweep_config(write(tmp_path / f"{variants}.yaml", text))
        task = prepare_task(config, [prof], cache, "<config>")
        return build_all(list(config.candidates), config, task, [prof], cache, lambda *a: None)["m"]

    first = build("onnx")
    assert builds.asked == [["onnx"]] and "onnx-int8" not in first.artifacts
    second = build("onnx-int8")  # same key (same model and training), a variant the cached build lacks
    assert builds.asked[-1] == ["onnx", "onnx-int8"] and {"onnx", "onnx-int8"} <= set(second.artifacts)
    third = build("onnx")  # both made now: nothing to build
    assert len(builds.asked) == 2 and third.artifacts == second.artifacts
