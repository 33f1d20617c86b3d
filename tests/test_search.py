"""Optuna search runs trials through the real build + measure path and feeds constraints back."""

from __future__ import annotations

import pytest

from archbench.cache import Cache
from archbench.config import HardwareProfile, TrainSettings, load_profile
from archbench.search import objectives, suggest

pytestmark = pytest.mark.slow


def test_search_three_trials(tmp_path, tiny_profile):
    from archbench.search import run_search

    profile = load_profile(tiny_profile)
    seen = []
    outcome = run_search("mlp", profile, 3, "onnx", tmp_path / "r", Cache(tmp_path / "c"), "s", TrainSettings(epochs=2),
                         seed=1, on_trial=lambda i, r: seen.append(i))  # fmt: skip
    assert seen == [0, 1, 2] and len(outcome.results) == 3
    assert len(outcome.study.trials) == 3
    done = [t for t in outcome.study.trials if t.values is not None]
    assert done, "at least one trial measured"
    for t in done:
        assert t.constraints and len(t.constraints) == 3  # latency, memory, accuracy budgets of the tiny profile
        assert 0 < t.values[0] <= 1 and t.values[1] > 0
    assert (outcome.run_dir / "result.json").exists() and (outcome.run_dir / "pareto.png").exists()
    assert any(r.on_front for r in outcome.results) == any(r.feasibility == "feasible" for r in outcome.results)


def test_spaces_and_objectives():
    import optuna

    study = optuna.create_study(directions=["maximize", "minimize", "minimize"])
    params = suggest(study.ask(), "cnn")
    assert len(params["channels"]) in (1, 2, 3) and params["hidden"] >= 16
    from archbench.result import Result

    r = Result("a", "onnx", "p", accuracy=0.9, latency={"p95": 1.5}, memory={"peak_rss_mb": 80.0})
    prof = HardwareProfile.model_validate({"name": "p", "device": "cpu", "threads": 1})
    assert objectives(r, prof) == (0.9, 1.5, 80.0)
