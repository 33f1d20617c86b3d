"""Every task kind records where each sample came from, and check reads a batch the way the task read its test set.

Fast: the kinds' loaders and check's batch readers only (no training). The end-to-end audit.csv and
check runs are in tests/test_audit.py and tests/test_check.py.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest

from archbench.checkbatch import read_batch
from archbench.errors import ConfigError
from archbench.rowids import row_ids
from archbench.tasks import load_task
from tests.task_data import arrays, write_image_folder, write_table_csv
from tests.text_data import rows, write_csv, write_jsonl


def _spec(path, text):
    """The task spec of a `task: {...}` line, its paths resolved against `path` (as a config file's are)."""
    import yaml

    from archbench.config import validate_task_spec
    from archbench.registry import task_kind

    spec = validate_task_spec(yaml.safe_load(text)["task"])
    cfg = str(path / "c.yaml")
    return task_kind(spec.kind).resolve_paths(spec, path, cfg), cfg


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_text_split_of_one_file_records_its_rows(tmp_path):
    write_csv(tmp_path / "all.csv", rows(90))
    spec, cfg = _spec(tmp_path, "task: {kind: text, train_file: all.csv, max_train: 40, max_test: 12, seed: 3}")
    task = load_task(spec, cfg)
    source = _csv_rows(tmp_path / "all.csv")
    for split, x in (("train", task.x_train), ("test", task.x_test)):
        ids, ok = row_ids(task.info, split, len(x))
        assert ok and len(set(ids)) == len(ids)
        assert [source[i]["text"] for i in ids] == list(x)  # subsampled and split: still the right rows
    assert not set(task.info["row_ids"]["train"]) & set(task.info["row_ids"]["test"])


def test_text_test_file_rows_index_the_test_file(tmp_path):
    data = rows(60)
    write_jsonl(tmp_path / "train.jsonl", data[:40])
    write_jsonl(tmp_path / "test.jsonl", data[40:])
    spec, cfg = _spec(tmp_path, "task: {kind: text, train_file: train.jsonl, test_file: test.jsonl}")
    task = load_task(spec, cfg)
    assert task.info["row_ids"]["test"] == list(range(20))
    assert [data[40 + i]["text"] for i in task.info["row_ids"]["test"]] == list(task.x_test)


def test_digits_rows_are_indices_in_load_digits(tmp_path):
    from sklearn.datasets import load_digits

    spec, cfg = _spec(tmp_path, "task: {kind: digits, test_fraction: 0.3, seed: 0}")
    task = load_task(spec, cfg)
    digits = load_digits()
    ids = task.info["row_ids"]["test"]
    assert np.array_equal(task.x_test[:, 0], (digits.images[ids] / 16.0).astype(np.float32))
    assert np.array_equal(task.y_test, digits.target[ids])
    assert len(task.info["row_ids"]["train"]) == len(task.y_train)


def test_table_rows_and_a_batch_standardised_as_recorded(tmp_path):
    write_table_csv(tmp_path / "all.csv", n=120, features=6, seed=0)
    spec, cfg = _spec(tmp_path, "task: {kind: table, train_file: all.csv, label_column: species, test_fraction: 0.25}")
    task = load_task(spec, cfg)
    assert task.info["feature_names"] == [f"f{i}" for i in range(6)]
    source = _csv_rows(tmp_path / "all.csv")
    ids = task.info["row_ids"]["test"]
    assert [source[i]["species"] for i in ids] == [task.info["labels"][k] for k in task.y_test]
    # The test rows written out as a batch come back as the exact arrays the model was tested on: the
    # training split's mean/std applied (the whole file's would differ), the same per-class slices.
    with (tmp_path / "batch.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(source[0]))
        writer.writeheader()
        writer.writerows(source[i] for i in ids)
    batch = read_batch(tmp_path / "batch.csv", spec, task, cfg)
    assert np.array_equal(batch.x, task.x_test) and np.array_equal(batch.y, task.y_test)
    assert {k: v.tolist() for k, v in batch.slices.items()} == {k: v.tolist() for k, v in task.slices.items()}
    (tmp_path / "other.csv").write_text("f0,f1,species\n1,2,cat\n")
    with pytest.raises(ConfigError) as err:
        read_batch(tmp_path / "other.csv", spec, task, cfg)
    assert "other.csv" in str(err.value) and "f2" in str(err.value)
    (tmp_path / "unseen.csv").write_text("f0,f1,f2,f3,f4,f5,species\n1,2,3,4,5,6,yak\n")
    with pytest.raises(ConfigError, match=r"row 1\.species.*'yak'"):
        read_batch(tmp_path / "unseen.csv", spec, task, cfg)


def test_images_rows_are_paths_and_a_batch_keeps_the_test_quartiles(tmp_path):
    write_image_folder(tmp_path / "train", per_class=12, size=10, seed=0)
    write_image_folder(tmp_path / "test", per_class=10, size=10, seed=1)
    spec, cfg = _spec(tmp_path, "task: {kind: images, train_dir: train, test_dir: test, image_size: [8, 8], "
                                "channels: 1}")  # fmt: skip
    task = load_task(spec, cfg)
    assert task.info["row_ids"]["test"][:2] == ["horizontal/000.png", "horizontal/001.png"]
    assert len(task.info["row_ids"]["train"]) == 24
    same = read_batch(tmp_path / "test", spec, task, cfg)
    assert np.array_equal(same.x, task.x_test)
    assert {k: v.tolist() for k, v in same.slices.items()} == {k: v.tolist() for k, v in task.slices.items()}
    # A darker batch is cut at the test set's brightness, not its own: it lands in the dark quartiles.
    from PIL import Image

    dark = tmp_path / "dark" / "vertical"
    dark.mkdir(parents=True)
    for i, src in enumerate(sorted((tmp_path / "test" / "vertical").glob("*.png"))):
        Image.fromarray((np.asarray(Image.open(src)) * 0.2).astype(np.uint8)).save(dark / f"{i}.png")
    batch = read_batch(tmp_path / "dark", spec, task, cfg)
    assert len(batch.slices["brightness-q1"]) == 10 and len(batch.slices["brightness-q4"]) == 0
    assert len(batch.slices["class-vertical"]) == 10 and len(batch.slices["class-horizontal"]) == 0
    with pytest.raises(ConfigError, match="folder of class folders"):
        read_batch(tmp_path / "test" / "vertical" / "000.png", spec, task, cfg)


def test_arrays_rows_and_an_npz_batch_with_the_tasks_keys(tmp_path):
    x, y = arrays(100, seed=0)
    np.savez(tmp_path / "train.npz", inputs=x, target=y)
    spec, cfg = _spec(tmp_path, "task: {kind: arrays, train_file: train.npz, x_key: inputs, y_key: target}")
    task = load_task(spec, cfg)
    ids = task.info["row_ids"]["test"]
    assert np.array_equal(task.x_test, x[ids]) and len(task.info["row_ids"]["train"]) == len(task.y_train)
    np.savez(tmp_path / "batch.npz", inputs=x[ids], target=y[ids])
    batch = read_batch(tmp_path / "batch.npz", spec, task, cfg)
    assert np.array_equal(batch.x, task.x_test) and np.array_equal(batch.y, task.y_test)
    assert set(batch.slices) == {"class-0", "class-1"}
    np.savez(tmp_path / "wrong.npz", x=x[:3], y=y[:3])
    with pytest.raises(ConfigError, match="inputs"):
        read_batch(tmp_path / "wrong.npz", spec, task, cfg)


def test_digits_npz_batch_gets_its_class_slices_from_the_labels(tmp_path):
    spec, cfg = _spec(tmp_path, "task: {kind: digits}")
    task = load_task(spec, cfg)
    np.savez(tmp_path / "b.npz", x=task.x_test, y=task.y_test)
    batch = read_batch(tmp_path / "b.npz", spec, task, cfg)
    assert {k: v.tolist() for k, v in batch.slices.items()} == {k: v.tolist() for k, v in task.slices.items()}
