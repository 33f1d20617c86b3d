"""`gate --samples N`: the chosen model alone is measured again at a fixed count, and judged on it."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from archbench.cli import app
from archbench.report import read_result_json


@pytest.mark.slow
def test_gate_samples_remeasures_only_the_chosen_model(tmp_path, cache_dir, tiny_candidates, tiny_profile):
    runner = CliRunner()
    out = tmp_path / "results"
    done = runner.invoke(app, ["sweep", "-c", str(tiny_candidates), "-p", str(tiny_profile), "-o", str(out),
                               "--run-id", "r1"])  # fmt: skip
    assert done.exit_code == 0, done.output
    gated = runner.invoke(app, ["gate", str(out / "r1"), "--choose", "mlp-a/onnx", "--samples", "300"])
    assert gated.exit_code in (0, 1), gated.output  # a verdict, not bad input
    again = out / "r1-samples-300" / "result.json"
    _, results = read_result_json(again)
    assert [(r.candidate, r.variant) for r in results] == [("mlp-a", "onnx")]  # nothing else re-measured
    assert results[0].latency["n"] == 300 and results[0].latency_decision.stop_reason == "fixed sample count"
    original = json.loads((out / "r1" / "result.json").read_text())
    assert len(original["results"]) == 5  # the run itself is left as it was
