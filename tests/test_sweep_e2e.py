"""End to end: a real (tiny) sweep trains, exports, measures in children and writes the four files."""

from __future__ import annotations

import csv
import json

import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.sweep import Sweep

pytestmark = pytest.mark.slow


def run(candidates, profiles, out, cache_dir, **kw):
    config = load_sweep_config(candidates)
    sweep = Sweep(config, [load_profile(p) for p in profiles], out, Cache(cache_dir), **kw)
    return sweep.run()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    from tests.conftest import TINY_CANDIDATES, TINY_PROFILE, write

    root = tmp_path_factory.mktemp("e2e")
    cands = write(root / "candidates.yaml", TINY_CANDIDATES)
    prof = write(root / "tiny.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=1))
    gpu = write(root / "gpu.yaml", TINY_PROFILE.format(name="gpu-x", device="cuda", batch=8))
    outcome = run(cands, [prof, gpu], root / "results", root / "cache", run_id="r1")
    return root, cands, prof, outcome


def test_every_planned_result_is_recorded(first_run):
    _, _, _, outcome = first_run
    keys = {r.key for r in outcome.results}
    assert len(keys) == 5 * 2  # 5 (candidate, variant) pairs on 2 profiles
    tiny = [r for r in outcome.results if r.profile == "tiny"]
    assert all(r.status == "ok" for r in tiny), [r.error for r in tiny]


def test_cuda_profile_is_skipped_with_a_reason_without_cuda(first_run):
    from archbench.sweep import cuda_available

    _, _, _, outcome = first_run
    gpu = [r for r in outcome.results if r.profile == "gpu-x"]
    if cuda_available()[0]:
        pytest.skip("this machine has CUDA")
    assert gpu and all(r.status == "skipped" and "CUDA" in r.error for r in gpu)


def test_measurements_are_real(first_run):
    _, _, _, outcome = first_run
    for r in (r for r in outcome.results if r.profile == "tiny"):
        assert 0.3 < r.accuracy <= 1.0
        assert len(r.latency_samples_ms) == r.latency["n"] >= 20
        assert 0 < r.latency["p50"] <= r.latency["p90"] <= r.latency["p99"]
        d = r.latency_decision
        assert d.lower_ms <= r.latency["p90"] <= d.upper_ms
        assert r.memory["peak_rss_mb"] > 10 and r.memory["process_peak_mb"] >= r.memory["peak_rss_mb"] - 1
        assert r.model_mb > 0


def test_onnx_accuracy_comes_from_onnxruntime_and_matches_torch(first_run):
    _, _, _, outcome = first_run
    by = {(r.candidate, r.variant): r for r in outcome.results if r.profile == "tiny"}
    for cand in ("mlp-a", "cnn-b"):
        assert abs(by[(cand, "torch")].accuracy - by[(cand, "onnx")].accuracy) <= 2 / 540
    # int8 weights are a different model: accuracy is measured on it, and its file is smaller
    assert by[("mlp-a", "onnx-int8")].model_mb < by[("mlp-a", "onnx")].model_mb


def test_torch_runtime_costs_more_memory_than_onnxruntime(first_run):
    _, _, _, outcome = first_run
    by = {(r.candidate, r.variant): r for r in outcome.results if r.profile == "tiny"}
    assert by[("mlp-a", "torch")].peak_memory_mb > by[("mlp-a", "onnx")].peak_memory_mb


def test_front_and_files(first_run):
    root, _, _, _ = first_run
    run_dir = root / "results" / "r1"
    assert {p.name for p in run_dir.iterdir()} >= {"result.json", "results.csv", "pareto.png", "summary.md"}
    data = json.loads((run_dir / "result.json").read_text())
    assert data["schema_version"].startswith("1.") and data["run"]["complete"] is True
    assert data["environment"]["cpu_model"]
    assert data["fronts"]["tiny"], "a generous budget must leave a non-empty front"
    on_front = [r for r in data["results"] if r["on_front"]]
    assert all(r["feasibility"] == "feasible" for r in on_front)
    rows = list(csv.DictReader((run_dir / "results.csv").open()))
    assert len(rows) == len(data["results"])
    assert (run_dir / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "tiny" in (run_dir / "summary.md").read_text()


def test_second_unchanged_run_is_served_from_cache(first_run):
    root, cands, prof, first = first_run
    config = load_sweep_config(cands)
    sweep = Sweep(config, [load_profile(prof)], root / "results", Cache(root / "cache"), run_id="r2")
    labels = []
    sweep.progress = lambda phase, done, total, label: labels.append((phase, label))
    again = sweep.run()
    builds = [label for phase, label in labels if phase == "build" and label]
    assert builds and all(label.endswith(" (cached)") for label in builds)  # the log says why it took no time
    tiny = [r for r in again.results if r.profile == "tiny"]
    assert tiny and all(r.meta["cached"] for r in tiny)
    before = {r.key: r.latency_samples_ms for r in first.results if r.profile == "tiny"}
    assert all(r.latency_samples_ms == before[r.key] for r in tiny)


def test_changing_one_profile_knob_remeasures_without_rebuilding(first_run, tmp_path):
    from tests.conftest import TINY_PROFILE, write

    root, cands, _, _ = first_run
    prof2 = write(tmp_path / "tiny.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=2))
    outcome = run(cands, [prof2], root / "results", root / "cache", run_id="r3")
    assert all(not r.meta["cached"] for r in outcome.results)
    builds = list((root / "cache" / "builds").iterdir())
    assert len(builds) == 2  # the two candidates were not rebuilt


def test_interleaved_repeats_pool_their_samples(first_run, tmp_path):
    """repeats: N measures every job N times in rounds (drift hits all alike), pools the raw samples, and
    decides latency on bounds every process agrees on."""
    from tests.conftest import write

    root, _, prof, _ = first_run
    cands = write(tmp_path / "c.yaml", """
        train: {epochs: 6, lr: 0.003, batch_size: 64, seed: 0}
        repeats: 2
        candidates:
          - {name: mlp-a, kind: builtin, family: mlp, params: {hidden: [16]}, variants: [onnx]}
    """)
    outcome = run(cands, [prof], root / "results", root / "cache", run_id="r4")
    (r,) = [r for r in outcome.results if r.profile == "tiny"]
    assert r.meta["repeats"] == 2 and len(set(r.meta["measure_keys"])) == 2
    assert len(r.latency_samples_ms) == r.latency["n"] >= 2 * 20
    # the verdict's bounds are the ones both processes agree on, and say so
    each, d = r.meta["process_bounds_ms"], r.latency_decision
    assert len(each) == 2 and d.lower_ms <= min(b[0] for b in each) and d.upper_ms >= max(b[1] for b in each)
    (latency,) = [v for v in r.verdicts if v.budget == "latency_p90_ms"]
    assert "covers each of 2 processes' own bounds" in latency.detail


def test_resuming_a_run_directory_remeasures_what_changed(first_run, tmp_path):
    """Reusing a run id keeps finished results only if nothing they depend on changed."""
    from tests.conftest import TINY_PROFILE, write

    root, cands, prof, _ = first_run
    before = {r.key: r for r in run(cands, [prof], root / "results", root / "cache", run_id="r5").results}
    same = {r.key: r for r in run(cands, [prof], root / "results", root / "cache", run_id="r5").results}
    assert all(same[k].latency_samples_ms == before[k].latency_samples_ms for k in before if k[2] == "tiny")
    prof2 = write(tmp_path / "tiny.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=3))
    changed = {r.key: r for r in run(cands, [prof2], root / "results", root / "cache", run_id="r5").results}
    tiny = [k for k in before if k[2] == "tiny"]
    assert tiny and all(changed[k].meta["spec_key"] != before[k].meta["spec_key"] for k in tiny)
