"""archbench audit: the flagging rule, the stable loss, and a real sweep of digits with flipped labels."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from archbench.audit import MIN_MEDIAN_LOSS, flag, majority_vote, preview
from archbench.audit_child import label_loss
from archbench.cli import app
from archbench.rowids import record_row_ids, row_ids


def test_label_loss_is_cross_entropy_and_stable_for_huge_logits():
    logits = np.array([[2.0, 0.0, -1.0], [1e4, -1e4, 0.0]])
    labels = np.array([1, 1])
    expected0 = -np.log(np.exp(0.0) / np.exp(logits[0]).sum())
    loss = label_loss(logits, labels)
    assert loss[0] == pytest.approx(expected0)
    assert np.isfinite(loss[1]) and loss[1] == pytest.approx(2e4)  # naive softmax would give log(0) = inf


def test_flag_needs_every_model_by_default_or_a_strict_majority():
    base = np.full((3, 20), 0.1)
    base[:, 0] = 5.0  # 50x the median under every model
    base[0, 1] = 5.0  # under one model only
    base[:2, 2] = 5.0  # under two of three
    medians, ratios, agreeing, flagged = flag(base, 10.0)
    assert medians == pytest.approx([0.1, 0.1, 0.1])
    assert agreeing[:4].tolist() == [3, 1, 2, 0]
    assert flagged[:4].tolist() == [True, False, False, False]
    assert flag(base, 10.0, "majority")[3][:4].tolist() == [True, False, True, False]
    assert ratios[0, 0] == pytest.approx(50.0)
    assert not flag(np.zeros((0, 5)), 10.0)[3].any()  # no model: nothing is flagged
    with pytest.raises(ValueError):
        flag(base, 10.0, "most")


def test_flag_floors_a_near_zero_median():
    losses = np.full((1, 10), 1e-7)
    losses[0, 0] = 5e-3  # 50000x a median of 1e-7, but only 5x the floor: the model agrees with the label
    losses[0, 1] = 0.5
    medians, _, _, flagged = flag(losses, 10.0)
    assert medians[0] == MIN_MEDIAN_LOSS
    assert flagged.tolist()[:3] == [False, True, False]


def test_majority_vote_and_preview():
    votes = np.array([[1, 2, 0], [1, 0, 0], [2, 0, 3]])
    assert majority_vote(votes, 4).tolist() == [1, 0, 0]
    assert preview("  a   long\ntext ") == "a long text"
    assert len(preview("x" * 500)) == 100
    assert preview(np.zeros((1, 2, 2))).startswith("shape 1x2x2 mean 0")


def test_row_ids_fall_back_to_split_index():
    info: dict = {}
    assert row_ids(info, "test", 3) == ([0, 1, 2], False)
    record_row_ids(info, train=np.array([5, 7]), test=["a.png", "b.png", "c.png"])
    assert row_ids(info, "test", 3) == (["a.png", "b.png", "c.png"], True)
    assert row_ids(info, "train", 2) == ([5, 7], True)
    assert row_ids(info, "train", 3)[1] is False  # a length that does not fit is not trusted


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    import os

    from benchmarks.audit_flips import flipped_run

    root = tmp_path_factory.mktemp("audit")
    old = os.environ.get("ARCHBENCH_CACHE")
    os.environ["ARCHBENCH_CACHE"] = str(root / "cache")
    try:
        yield root, flipped_run(root, epochs=20, flip=0.05, seed=0, candidates=2)
    finally:
        if old is None:
            os.environ.pop("ARCHBENCH_CACHE")
        else:
            os.environ["ARCHBENCH_CACHE"] = old


@pytest.mark.slow
def test_audit_finds_flipped_labels_from_the_cached_builds(flipped, monkeypatch):
    root, run_dir = flipped
    monkeypatch.setenv("ARCHBENCH_CACHE", str(root / "cache"))
    out = CliRunner().invoke(app, ["audit", str(run_dir), "--split", "both"])
    assert out.exit_code == 0, out.output
    assert "flagged per slice:" in out.output and "confusable:" in out.output
    with (run_dir / "audit.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["row", "split", "label", "predicted", "loss", "loss_over_median", "models_agreeing",
                             "flagged", "input"]  # fmt: skip
    assert len(rows) == 1797  # every sample of both splits
    losses = [float(r["loss"]) for r in rows]
    assert losses == sorted(losses, reverse=True)
    from archbench.tasks.base import TaskData

    task = TaskData.load(next((root / "cache" / "data").glob("*.npz")))
    truth = set(task.info["flipped_rows"])
    picked = {int(r["row"]) for r in rows if r["flagged"] == "yes"}
    hits = len(picked & truth)
    assert hits / len(truth) >= 0.8  # recall: most flipped rows are found
    assert hits / len(picked) >= 0.4  # far above the 5% base rate (figures: benchmarks/audit_flips.py)


@pytest.mark.slow
def test_audit_without_the_builds_says_to_rerun(flipped, monkeypatch, tmp_path):
    root, run_dir = flipped
    cache = tmp_path / "cache"
    shutil.copytree(root / "cache" / "data", cache / "data")  # the data is there, the builds are not
    monkeypatch.setenv("ARCHBENCH_CACHE", str(cache))
    before = (run_dir / "audit.csv").read_bytes() if (run_dir / "audit.csv").exists() else None
    out = CliRunner().invoke(app, ["audit", str(run_dir)])
    assert out.exit_code == 2
    line = out.output.strip()
    assert line.count("\n") == 0 and "build_key" in line and "re-run the sweep" in line
    after = (run_dir / "audit.csv").read_bytes() if (run_dir / "audit.csv").exists() else None
    assert before == after


@pytest.mark.slow
def test_audit_rejects_an_unknown_model(flipped, monkeypatch):
    root, run_dir = flipped
    monkeypatch.setenv("ARCHBENCH_CACHE", str(root / "cache"))
    out = CliRunner().invoke(app, ["audit", str(run_dir), "--candidate", "nope/onnx"])
    assert out.exit_code == 2 and "nope/onnx" in out.output and "--candidate" in out.output
