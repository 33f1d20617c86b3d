"""archbench check: the verdict rule, the drift figures, and real text, table and image sweeps checked on new
batches (audit's source rows are checked on the text sweep too)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from archbench.check import DROPPED, EMPTY, OK, UNDECIDED, decide
from archbench.cli import app
from archbench.drift import feature_shift, length_shift, likely_reason
from tests.conftest import write
from tests.text_data import rows, write_csv


def test_decide_drop_ok_and_undecided():
    assert decide(0.95, 0.60, 0.80, 100, 0.03) == DROPPED  # the whole interval below 0.92
    assert decide(0.95, 0.93, 0.99, 500, 0.03) == OK
    assert decide(0.95, 0.70, 0.99, 10, 0.03) == UNDECIDED  # straddles 0.92
    assert decide(0.95, 0.0, 1.0, 0, 0.03) == EMPTY


def test_feature_shift_ranks_the_moved_feature_first():
    rng = np.random.default_rng(0)
    test = rng.normal(size=(500, 4))
    batch = rng.normal(size=(300, 4))
    batch[:, 2] += 1.0
    top = feature_shift(test, batch, ["a", "b", "c", "d"])
    assert top[0]["feature"] == "c" and 0.8 < top[0]["smd"] < 1.2
    assert all(abs(f["smd"]) < 0.3 for f in top[1:])
    assert "feature c shifted" in likely_reason({"features": top, "labels": []})


def test_length_shift_names_longer_inputs():
    shift = length_shift(np.full(200, 10) + np.arange(200) % 5, np.full(200, 40) + np.arange(200) % 7)
    assert shift["ks"] == pytest.approx(1.0) and shift["batch"]["median"] > shift["test"]["median"]
    assert "inputs are longer" in likely_reason({"lengths": {**shift, "unit": "pre-tokens"}, "labels": []})


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
    variants: [onnx]
"""
PROFILE = """
name: tiny
device: cpu
threads: 1
batch_size: 1
budget: {latency_ms: 500, percentile: p90}
measure: {max_seconds: 0.2, min_samples: 20, max_samples: 200, warmup: 2, timeout_s: 120}
"""


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    from archbench.cache import Cache
    from archbench.config import load_profile, load_sweep_config
    from archbench.sweep import Sweep

    root = tmp_path_factory.mktemp("check")
    data = rows(200)
    write_csv(root / "data" / "train.csv", data[:140])
    write_csv(root / "data" / "test.csv", data[140:])
    cands = write(root / "cands.yaml", CANDIDATES)
    sweep = Sweep(load_sweep_config(cands), [load_profile(write(root / "tiny.yaml", PROFILE))], root / "results",
                  Cache(root / "cache"), run_id="t", config_file=str(cands))  # fmt: skip
    outcome = sweep.run()
    assert [r.status for r in outcome.results] == ["ok"], [r.error for r in outcome.results]
    return root, outcome.run_dir


def _check(root, run_dir, batch, monkeypatch, *extra):
    monkeypatch.setenv("ARCHBENCH_CACHE", str(root / "cache"))
    # the model named: on a loaded 2-core machine its latency verdict may be undecided (off the front)
    return CliRunner().invoke(app, ["check", str(run_dir), "--batch", str(batch), "--candidate", "tiny-bert/onnx",
                                    *extra])  # fmt: skip


@pytest.mark.slow
def test_unchanged_batch_passes(text_run, monkeypatch):
    root, run_dir = text_run
    out = _check(root, run_dir, root / "data" / "test.csv", monkeypatch)
    assert out.exit_code == 0, out.output
    doc = json.loads((run_dir / "check.json").read_text())
    assert doc["dropped"] == [] and [s["name"] for s in doc["slices"]] == ["overall", "short", "long"]
    overall = doc["slices"][0]
    assert overall["batch"]["value"] == pytest.approx(overall["test"]["value"])  # same data, same model
    assert "| slice | test set | batch | verdict |" in (run_dir / "check.md").read_text()


@pytest.mark.slow
def test_degraded_slice_is_flagged_and_others_are_not(text_run, monkeypatch, tmp_path):
    root, run_dir = text_run
    batch = rows(240, seed=1)
    median = json.loads((run_dir / "result.json").read_text())  # the cut is the test set's, recorded in info
    assert median["results"][0]["slice_accuracy"]["long"]["n"] > 0
    for r in batch:  # the long texts (15-30 fillers) get the wrong label: that slice alone degrades
        if len(r["text"].split()) > 12:
            r["label"] = "neg" if r["label"] == "pos" else "pos"
    out = _check(root, run_dir, write_csv(tmp_path / "degraded.csv", batch), monkeypatch)
    assert out.exit_code == 1, out.output
    doc = json.loads((run_dir / "check.json").read_text())
    verdicts = {s["name"]: s["status"] for s in doc["slices"]}
    assert verdicts["long"] == DROPPED and verdicts["short"] != DROPPED
    assert "dropped" in (run_dir / "check.md").read_text()


@pytest.mark.slow
def test_longer_inputs_are_named_as_the_likely_reason(text_run, monkeypatch, tmp_path):
    root, run_dir = text_run
    long_only = [r for r in rows(240, seed=2) if len(r["text"].split()) > 12]
    out = _check(root, run_dir, write_csv(tmp_path / "long.csv", long_only), monkeypatch)
    assert out.exit_code in (0, 1), out.output
    doc = json.loads((run_dir / "check.json").read_text())
    assert "inputs are longer" in doc["shift"]["likely_reason"]
    assert doc["shift"]["lengths"]["ks"] > 0.4


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("cols.csv", "body,label\nnice tea,pos\n", "text"),  # other columns
        ("unseen.csv", "text,label\nnice tea,meh\n", "meh"),  # a label the task never saw
        ("empty.csv", "text,label\n", "no data rows"),
        ("arrays.npz", None, ".npz"),  # another task's format
    ],
)
def test_bad_batch_is_one_line_exit_2_and_overwrites_nothing(text_run, monkeypatch, tmp_path, name, content,
                                                             needle):  # fmt: skip
    root, run_dir = text_run
    path = tmp_path / name
    if content is None:
        np.savez(path, x=np.zeros((2, 3)), y=np.zeros(2, dtype=int))
    else:
        path.write_text(content)
    (run_dir / "check.md").write_text("previous\n")
    out = _check(root, run_dir, path, monkeypatch)
    assert out.exit_code == 2
    line = out.output.strip()
    assert line.startswith("error: ") and "\n" not in line and name in line and needle in line
    assert (run_dir / "check.md").read_text() == "previous\n"


@pytest.mark.slow
def test_a_digits_run_rejects_a_text_batch(tmp_path, monkeypatch, tiny_candidates, tiny_profile):
    from archbench.cache import Cache
    from archbench.config import load_profile, load_sweep_config
    from archbench.sweep import Sweep

    cache = tmp_path / "cache"
    run_dir = Sweep(load_sweep_config(tiny_candidates), [load_profile(tiny_profile)], tmp_path / "results",
                    Cache(cache), run_id="d", config_file=str(tiny_candidates)).run().run_dir  # fmt: skip
    batch = write_csv(tmp_path / "b.csv", rows(4))
    monkeypatch.setenv("ARCHBENCH_CACHE", str(cache))
    out = CliRunner().invoke(app, ["check", str(run_dir), "--batch", str(batch)])
    assert out.exit_code == 2 and "b.csv" in out.output and ".npz" in out.output


@pytest.mark.slow
def test_audit_rows_point_at_the_source_csv_rows(text_run, monkeypatch):
    """audit.csv's row is the 0-based data row of the sample's own file (test rows: test.csv; train: train.csv)."""
    import csv

    from archbench.audit import preview

    root, run_dir = text_run
    monkeypatch.setenv("ARCHBENCH_CACHE", str(root / "cache"))
    out = CliRunner().invoke(app, ["audit", str(run_dir), "--split", "both", "--candidate", "tiny-bert/onnx"])
    assert out.exit_code == 0, out.output
    assert "row is the 0-based index within its split" not in out.output  # the text kind records source rows
    with (run_dir / "audit.csv").open() as fh:
        audited = list(csv.DictReader(fh))
    source = {}
    for split, name in (("test", "test.csv"), ("train", "train.csv")):
        with (root / "data" / name).open() as fh:
            source[split] = list(csv.DictReader(fh))
    assert len(audited) == len(source["test"]) + len(source["train"])
    for r in audited:
        row = source[r["split"]][int(r["row"])]
        assert preview(row["text"]) == r["input"] and row["label"] == r["label"]


def _sweep(root, candidates: str):
    from archbench.cache import Cache
    from archbench.config import load_profile, load_sweep_config
    from archbench.sweep import Sweep

    cands = write(root / "cands.yaml", candidates)
    outcome = Sweep(load_sweep_config(cands), [load_profile(write(root / "tiny.yaml", PROFILE))], root / "results",
                    Cache(root / "cache"), run_id="t", config_file=str(cands)).run()  # fmt: skip
    assert all(r.status == "ok" for r in outcome.results), [r.error for r in outcome.results]
    return outcome.run_dir


def _write_table(path, x, labels):
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([f"f{i}" for i in range(x.shape[1])] + ["species"])
        writer.writerows([[f"{v:.5f}" for v in row] + [label] for row, label in zip(x, labels, strict=True)])
    return path


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    from tests.task_data import write_table_csv

    root = tmp_path_factory.mktemp("check-table")
    write_table_csv(root / "data" / "train.csv", n=240, features=12, seed=0)
    write_table_csv(root / "data" / "test.csv", n=150, features=12, seed=1)
    return root, _sweep(root, """
    task: {kind: table, train_file: data/train.csv, test_file: data/test.csv, label_column: species}
    train: {epochs: 15, lr: 0.005, batch_size: 32, seed: 0}
    candidates:
      - {name: mlp, kind: builtin, family: mlp, params: {hidden: [16]}, variants: [onnx]}
    """)


def _table_check(root, run_dir, batch, monkeypatch):
    monkeypatch.setenv("ARCHBENCH_CACHE", str(root / "cache"))
    return CliRunner().invoke(app, ["check", str(run_dir), "--batch", str(batch), "--candidate", "mlp/onnx"])


@pytest.mark.slow
def test_table_unchanged_batch_passes(table_run, monkeypatch):
    root, run_dir = table_run
    out = _table_check(root, run_dir, root / "data" / "test.csv", monkeypatch)
    assert out.exit_code == 0, out.output
    doc = json.loads((run_dir / "check.json").read_text())
    assert doc["dropped"] == [] and {s["name"] for s in doc["slices"]} == {"overall", "class-cat", "class-dog",
                                                                          "class-emu"}  # fmt: skip
    for s in doc["slices"]:  # standardised as the run recorded: the same inputs, the same figures
        assert s["batch"]["value"] == pytest.approx(s["test"]["value"]) and s["batch"]["n"] == s["test"]["n"]
    assert all(abs(f["smd"]) < 1e-9 for f in doc["shift"]["features"])


@pytest.mark.slow
def test_table_degraded_slice_is_flagged_with_its_features(table_run, monkeypatch, tmp_path):
    from tests.task_data import table_rows

    root, run_dir = table_run
    x, labels = table_rows(300, features=12, seed=2)
    dog = np.array(labels) == "dog"
    x[dog, 5:10] -= 6  # the dogs lose their own features and take the cats': still labelled dog
    x[dog, 0:5] += 6
    out = _table_check(root, run_dir, _write_table(tmp_path / "degraded.csv", x, labels), monkeypatch)
    assert out.exit_code == 1, out.output
    doc = json.loads((run_dir / "check.json").read_text())
    verdicts = {s["name"]: s["status"] for s in doc["slices"]}
    assert verdicts["class-dog"] == DROPPED and verdicts["overall"] == DROPPED
    assert verdicts["class-cat"] != DROPPED and verdicts["class-emu"] != DROPPED
    shifted = {f["feature"] for f in doc["shift"]["features"]}
    assert shifted <= {f"f{i}" for i in range(10)} and doc["shift"]["likely_reason"].startswith("feature f")


@pytest.mark.slow
def test_images_batch_folder_passes(tmp_path):
    from tests.task_data import write_image_folder

    write_image_folder(tmp_path / "train", per_class=60, size=12, seed=0)
    write_image_folder(tmp_path / "test", per_class=40, size=12, seed=1)
    write_image_folder(tmp_path / "batch", per_class=40, size=12, seed=2)
    run_dir = _sweep(tmp_path, """
    task: {kind: images, train_dir: train, test_dir: test, image_size: [8, 8], channels: 1}
    train: {epochs: 20, lr: 0.005, batch_size: 16, seed: 0}
    candidates:
      - {name: cnn, kind: builtin, family: cnn, params: {channels: [8], hidden: 16}, variants: [onnx]}
    """)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ARCHBENCH_CACHE", str(tmp_path / "cache"))
        out = CliRunner().invoke(app, ["check", str(run_dir), "--batch", str(tmp_path / "batch"), "--candidate",
                                       "cnn/onnx"])  # fmt: skip
    assert out.exit_code == 0, out.output
    doc = json.loads((run_dir / "check.json").read_text())
    by = {s["name"]: s for s in doc["slices"]}
    assert doc["dropped"] == [] and by["overall"]["batch"]["value"] >= 0.9
    quartiles = [by[f"brightness-q{q}"]["batch"]["n"] for q in range(1, 5)]
    assert sum(quartiles) == 80 and all(n > 5 for n in quartiles)  # cut at the test set's brightness
    assert "brightness quartiles cut at the test set's" in (run_dir / "check.md").read_text()
