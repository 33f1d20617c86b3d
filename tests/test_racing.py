"""Racing: results the front cannot order on their first samples are measured again with more."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.measure.runner import ChildOutcome
from archbench.sweep import Sweep
from tests.conftest import TINY_PROFILE, write

CANDIDATES = """
task: {kind: digits}
candidates:
  - {name: fast, kind: builtin, family: mlp, params: {hidden: [8]}, variants: [onnx]}
  - {name: slower, kind: builtin, family: mlp, params: {hidden: [9]}, variants: [onnx]}
"""
MEAN_MS = {"fast": 0.0100, "slower": 0.0103}  # 3% apart: 200 samples cannot tell, 1,000 can


class Children:
    """Builds succeed; a measurement returns seeded normal latencies (5% spread) at the count asked for."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {"fast": [], "slower": []}

    def __call__(self, kind: str, job: dict[str, Any], timeout_s: float, threads: int | None = None) -> ChildOutcome:
        from archbench.jobs import BuildOutput, MeasureJob, MeasurePayload
        from archbench.tasks.base import TaskData

        if kind == "build":
            return ChildOutcome(BuildOutput(artifacts={"weights": "w", "onnx": "a.onnx"}).model_dump(mode="json"),
                                None, 50.0, 0.1)  # fmt: skip
        job = MeasureJob.model_validate(job)
        name, n = job.candidate["name"], job.profile.measure.fixed_samples or 200
        self.counts[name].append(n)
        rng = np.random.default_rng(len(self.counts[name]) + (7 if name == "fast" else 11))
        samples = rng.normal(MEAN_MS[name], 0.05 * MEAN_MS[name], n).clip(min=1e-6)
        payload = MeasurePayload(
            samples_ms=samples.tolist(), stop_reason="fixed sample count", loop_wall_s=0.01,
            memory={"peak_rss_mb": 50.0}, predictions=TaskData.load(job.task_path).y_test.tolist(),
            model_bytes=1000, reference_us=[100.0] * 3, distinct_requests=540, fixed_samples=n,
        )  # fmt: skip
        return ChildOutcome(payload.model_dump(mode="json"), None, 60.0, 1.0)


@pytest.fixture
def sweep_with(tmp_path, monkeypatch):
    children = Children()
    monkeypatch.setattr("archbench.measure.runner.run_child", children)
    cands = write(tmp_path / "candidates.yaml", CANDIDATES)

    def run(race: bool):
        extra = "" if race else ", race: false"
        prof = write(tmp_path / f"p{race}.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=1).replace(
            "timeout_s: 120", f"timeout_s: 120{extra}").replace("max_samples: 400", "max_samples: 5000"))  # fmt: skip
        sweep = Sweep(load_sweep_config(cands), [load_profile(prof)], tmp_path / "results",
                      Cache(tmp_path / f"c{race}"), run_id=f"r{race}")  # fmt: skip
        return {r.candidate: r for r in sweep.run().results}

    return children, run


def test_without_racing_near_equal_candidates_both_stay_on_the_front(sweep_with, tmp_path):
    children, run = sweep_with
    by = run(race=False)
    assert by["fast"].on_front and by["slower"].on_front  # their latency intervals overlap
    assert children.counts == {"fast": [200], "slower": [200]}
    summary = (tmp_path / "results" / "rFalse" / "summary.md").read_text()
    assert "2 front members could not be ordered by latency against a result that may beat them (1 pair" in summary
    assert "fast/onnx may be faster than slower/onnx" in summary


def test_racing_measures_the_unordered_pair_again_and_orders_it(sweep_with):
    children, run = sweep_with
    by = run(race=True)
    assert children.counts == {"fast": [200, 1000], "slower": [200, 1000]}  # both members, 4x (at least 1,000)
    assert by["fast"].on_front and not by["slower"].on_front
    assert by["slower"].latency["n"] == 1000 and by["slower"].feasibility == "feasible"
