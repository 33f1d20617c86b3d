"""Every bad input of the table, arrays, images and import task kinds is one line: file, key, reason.

Loading goes through the task kind's own load (what the sweep's plan calls), so these run without a
sweep; one test goes through the CLI for the exit code 2 and the single stderr line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archbench.config import load_sweep_config
from archbench.errors import ConfigError
from archbench.tasks import load_task
from tests.conftest import write
from tests.task_data import write_image_folder, write_module, write_table_csv

MLP = "candidates: [{name: m, kind: builtin, family: mlp}]\n"


def load(tmp_path: Path, task: str):
    cfg = write(tmp_path / "my.yaml", f"task: {task}\n{MLP}")
    return load_task(load_sweep_config(cfg).task, cfg)


def error(tmp_path: Path, task: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, task)
    assert "\n" not in str(info.value)
    return info.value


def small_csv(path: Path, rows: list[str]) -> Path:
    return write(path, "a,b,label\n" + "\n".join(rows) + "\n")


# ---- table ----------------------------------------------------------------------------------------------


GOOD = ["1,2,x", "3,4,y", "5,6,x", "7,8,y", "1,1,x", "2,2,y"]


def test_table_loads_standardised_with_class_slices(tmp_path):
    write_table_csv(tmp_path / "t.csv", n=60, features=30)
    task = load(tmp_path, "{kind: table, train_file: t.csv, label_column: species, test_fraction: 0.25}")
    assert task.x_train.shape == (45, 30) and task.x_test.shape == (15, 30) and task.x_train.dtype == np.float32
    assert np.allclose(task.x_train.mean(axis=0), 0, atol=1e-5) and np.allclose(task.x_train.std(axis=0), 1, atol=1e-4)
    assert task.info["labels"] == ["cat", "dog", "emu"] and len(task.info["standardize"]["mean"]) == 30
    assert set(task.slices) == {"class-cat", "class-dog", "class-emu"}
    assert sum(len(v) for v in task.slices.values()) == 15


def test_table_feature_columns_choose_and_order(tmp_path):
    small_csv(tmp_path / "t.csv", GOOD)
    task = load(tmp_path, "{kind: table, train_file: t.csv, feature_columns: [b], standardize: false}")
    assert task.sample_shape == (1,) and task.info["feature_columns"] == ["b"]
    assert sorted(np.concatenate([task.x_train, task.x_test])[:, 0].tolist()) == [1, 2, 2, 4, 6, 8]


@pytest.mark.parametrize(("row", "key", "reason"), [
    ("9,abc,x", "row 3.b", "not a number: 'abc'"),
    ("9,,x", "row 3.b", "missing value"),
    ("9,inf,x", "row 3.b", "not a finite number: 'inf'"),
    ("9,1", "row 3.label", "missing label"),  # a short row
    ("9,1,", "row 3.label", "missing label"),
])  # fmt: skip
def test_table_bad_cell_is_named_by_row_and_column(tmp_path, row, key, reason):
    small_csv(tmp_path / "t.csv", [*GOOD[:2], row, *GOOD[2:]])
    err = error(tmp_path, "{kind: table, train_file: t.csv}")
    assert (Path(err.file).name, err.key, err.reason) == ("t.csv", key, reason)


def test_table_unseen_test_label_names_file_row_and_value(tmp_path):
    small_csv(tmp_path / "train.csv", GOOD)
    small_csv(tmp_path / "test.csv", ["1,2,x", "3,4,zebra"])
    err = error(tmp_path, "{kind: table, train_file: train.csv, test_file: test.csv}")
    assert Path(err.file).name == "test.csv" and err.key == "row 2.label" and "'zebra'" in err.reason


def test_table_missing_columns_are_named(tmp_path):
    small_csv(tmp_path / "t.csv", GOOD)
    err = error(tmp_path, "{kind: table, train_file: t.csv, label_column: kind}")
    assert err.key == "task.label_column" and "no column 'kind'" in err.reason and "a, b, label" in err.reason
    err = error(tmp_path, "{kind: table, train_file: t.csv, feature_columns: [a, c]}")
    assert err.key == "task.feature_columns.1" and "no column 'c'" in err.reason
    err = error(tmp_path, "{kind: table, train_file: t.csv, feature_columns: [a, label]}")
    assert err.key == "task.feature_columns.1" and "is the label column" in err.reason


def test_table_test_file_must_have_the_training_columns(tmp_path):
    small_csv(tmp_path / "train.csv", GOOD)
    write(tmp_path / "test.csv", "a,label\n1,x\n")
    err = error(tmp_path, "{kind: table, train_file: train.csv, test_file: test.csv}")
    assert Path(err.file).name == "test.csv" and "no column 'b'" in err.reason


def test_table_one_label_and_missing_file(tmp_path):
    small_csv(tmp_path / "t.csv", ["1,2,x", "3,4,x", "5,6,x"])
    assert "only one label" in error(tmp_path, "{kind: table, train_file: t.csv}").reason
    err = error(tmp_path, "{kind: table, train_file: nope.csv}")
    assert err.key == "task.train_file" and "no such file" in err.reason


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed")
def test_table_parquet_without_pyarrow_says_so(tmp_path):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    err = error(tmp_path, "{kind: table, train_file: t.parquet}")
    assert err.key == "task.format" and "pyarrow" in err.reason and "CSV" in err.reason


# ---- arrays ---------------------------------------------------------------------------------------------


def xy(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3, 2)).astype(np.float32), np.arange(n) % 2


def test_arrays_npy_pair_any_shape_string_labels(tmp_path):
    x, y = xy()
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array(["off", "on"])[y])
    task = load(tmp_path, "{kind: arrays, train_x: x.npy, train_y: y.npy, test_fraction: 0.5}")
    assert task.sample_shape == (3, 2) and task.info["labels"] == ["off", "on"]
    assert set(task.slices) == {"class-off", "class-on"} and len(task.x_test) == 10
    # the held-out inputs are exactly the rows whose labels they carry
    rows = [int(np.flatnonzero((x == t).all(axis=(1, 2)))[0]) for t in task.x_test]
    assert [task.info["labels"][k] for k in task.y_test] == [["off", "on"][y[r]] for r in rows]


def test_arrays_refuse_pickled_objects(tmp_path):
    x, _ = xy()
    np.savez(tmp_path / "d.npz", x=x, y=np.array([{"a": 1}] * 20, dtype=object))
    err = error(tmp_path, "{kind: arrays, train_file: d.npz}")
    assert (Path(err.file).name, err.key) == ("d.npz", "y") and "Python objects" in err.reason


@pytest.mark.parametrize(("arrays", "key", "reason"), [
    ({"inputs": 0}, "x", "no array 'x' in the file (arrays: inputs, y)"),
    ({"y": np.arange(19) % 2}, "y", "19 labels for 20 samples"),
    ({"x": np.arange(20.0)}, "x", "one row per sample"),
    ({"x": np.array(["a"] * 20).reshape(20, 1)}, "x", "not dtype <U1"),
    ({"y": np.where(np.arange(20) == 4, 0.5, 1.0)}, "y[4]", "label 0.5 is not a class"),
])  # fmt: skip
def test_arrays_bad_content(tmp_path, arrays, key, reason):
    x, y = xy()
    data = {"x": x, "y": y, **arrays}
    if "inputs" in data:
        data = {"inputs": x, "y": y}
    np.savez(tmp_path / "d.npz", **data)
    err = error(tmp_path, "{kind: arrays, train_file: d.npz}")
    assert err.key == key and reason in err.reason, err


def test_arrays_nan_sample_and_unseen_test_label(tmp_path):
    x, y = xy()
    bad = x.copy()
    bad[7, 1, 1] = np.nan
    np.savez(tmp_path / "nan.npz", x=bad, y=y)
    err = error(tmp_path, "{kind: arrays, train_file: nan.npz}")
    assert err.key == "x[7]" and "NaN" in err.reason
    np.savez(tmp_path / "train.npz", x=x, y=y)
    np.savez(tmp_path / "test.npz", x=x[:3], y=np.array([0, 1, 7]))
    err = error(tmp_path, "{kind: arrays, train_file: train.npz, test_file: test.npz}")
    assert (Path(err.file).name, err.key) == ("test.npz", "y[2]") and "label '7' never appears" in err.reason


def test_arrays_spec_forms_are_checked(tmp_path):
    x, _ = xy()
    np.save(tmp_path / "x.npy", x)
    cfg = write(tmp_path / "my.yaml", f"task: {{kind: arrays, train_x: x.npy}}\n{MLP}")
    with pytest.raises(ConfigError, match="train_x and train_y go together"):
        load_sweep_config(cfg)
    cfg = write(tmp_path / "my.yaml", f"task: {{kind: arrays}}\n{MLP}")
    with pytest.raises(ConfigError, match="give train_file"):
        load_sweep_config(cfg)
    err = error(tmp_path, "{kind: arrays, train_file: x.npy}")
    assert err.key == "x" and "one array" in err.reason


# ---- images ---------------------------------------------------------------------------------------------


def test_images_shape_scale_and_slices(tmp_path):
    write_image_folder(tmp_path / "imgs", per_class=8, size=10)
    task = load(tmp_path, "{kind: images, train_dir: imgs, image_size: [6, 5], channels: 3, test_fraction: 0.25}")
    assert task.x_train.shape == (12, 3, 6, 5) and task.x_train.dtype == np.float32
    assert task.x_train.min() >= 0 and task.x_train.max() <= 1 and task.x_train.max() > 0.5
    assert {"class-horizontal", "class-vertical"} | {f"brightness-q{q}" for q in range(1, 5)} == set(task.slices)
    means = task.x_test.reshape(4, -1).mean(axis=1)
    assert means[task.slices["brightness-q1"]].max() <= means[task.slices["brightness-q4"]].min()


def test_unreadable_image_names_its_path(tmp_path):
    write_image_folder(tmp_path / "imgs", per_class=4, size=8)
    (tmp_path / "imgs" / "vertical" / "broken.png").write_bytes(b"not a png at all")
    err = error(tmp_path, "{kind: images, train_dir: imgs}")
    assert err.file.endswith("vertical/broken.png") and "unreadable image" in err.reason


def test_image_folder_layout_errors(tmp_path):
    write_image_folder(tmp_path / "imgs", per_class=4, size=8)
    (tmp_path / "imgs" / "empty").mkdir()
    (tmp_path / "imgs" / "empty" / "notes.txt").write_text("x")
    err = error(tmp_path, "{kind: images, train_dir: imgs}")
    assert err.file.endswith("imgs/empty") and err.key == "task.train_dir" and "no PNG or JPEG" in err.reason
    (tmp_path / "imgs" / "empty" / "notes.txt").unlink()
    (tmp_path / "imgs" / "empty").rmdir()
    (tmp_path / "imgs" / "stray.png").write_bytes((tmp_path / "imgs" / "vertical" / "000.png").read_bytes())
    assert "one folder per class" in error(tmp_path, "{kind: images, train_dir: imgs}").reason
    err = error(tmp_path, "{kind: images, train_dir: nowhere}")
    assert err.key == "task.train_dir" and "no such directory" in err.reason


def test_image_test_class_unseen_in_training(tmp_path):
    write_image_folder(tmp_path / "train", per_class=4, size=8)
    write_image_folder(tmp_path / "test", per_class=2, size=8)
    (tmp_path / "test" / "vertical").rename(tmp_path / "test" / "diagonal")
    err = error(tmp_path, "{kind: images, train_dir: train, test_dir: test}")
    assert err.key == "diagonal/000.png" and "label 'diagonal' never appears" in err.reason


def test_images_spec_is_strict(tmp_path):
    cfg = write(tmp_path / "my.yaml", f"task: {{kind: images, train_dir: x, channels: 2}}\n{MLP}")
    with pytest.raises(ConfigError, match=r"task\.channels"):
        load_sweep_config(cfg)
    cfg = write(tmp_path / "my.yaml", f"task: {{kind: images, train_dir: x, image_size: [8]}}\n{MLP}")
    with pytest.raises(ConfigError, match=r"task\.image_size"):
        load_sweep_config(cfg)


# ---- import ---------------------------------------------------------------------------------------------


LOADERS = '''
import time
import numpy as np

def good():
    x = np.arange(40.0).reshape(20, 2)
    return x[:12], np.arange(12) % 2, x[12:], np.arange(8) % 2

def raises():
    raise RuntimeError("database is down")

def wrong():
    return [1, 2]

def objects():
    x = np.zeros((4, 2))
    return {"x_train": x, "y_train": np.array([None, 1, 2, 3], dtype=object), "x_test": x, "y_test": np.zeros(4)}

def unseen():
    x = np.zeros((4, 2))
    return x, np.array([0, 1, 0, 1]), x, np.array([0, 1, 2, 1])

def slow():
    time.sleep(30)
'''


@pytest.fixture
def loaders(tmp_path, monkeypatch):
    write_module(tmp_path / "code", "tk_loaders", LOADERS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "code"), os.environ.get("PYTHONPATH", "")]))
    return tmp_path


def test_import_loader_runs_in_a_child(loaders):
    task = load(loaders, "{kind: import, target: 'tk_loaders:good'}")
    assert task.x_train.shape == (12, 2) and task.x_test.shape == (8, 2) and task.num_classes == 2
    assert "tk_loaders" not in sys.modules  # the user's code ran in the child, not here


@pytest.mark.parametrize(("target", "reason"), [
    ("tk_loaders:raises", "tk_loaders:raises raised RuntimeError: database is down"),
    ("tk_loaders:wrong", "returned list; expected (x_train, y_train, x_test, y_test)"),
    ("tk_loaders:objects", "y_train is an array of Python objects"),
    ("tk_loaders:unseen", "returned y_test[2]: label '2' never appears in the training data"),
    ("tk_loaders:absent", "module 'tk_loaders' has no callable 'absent'"),
    ("no_such_module_tk:load", "cannot import 'no_such_module_tk'"),
])  # fmt: skip
def test_import_loader_failures_are_one_line(loaders, target, reason):
    err = error(loaders, f"{{kind: import, target: '{target}'}}")
    assert err.file.endswith("my.yaml") and err.key == "task.target" and reason in err.reason, err


def test_import_loader_timeout_kills_it(loaders):
    err = error(loaders, "{kind: import, target: 'tk_loaders:slow', timeout_s: 1.0}")
    assert err.key == "task.target" and "did not return within 1 s" in err.reason


def test_bad_task_data_exits_2_with_one_line(tmp_path):
    small_csv(tmp_path / "t.csv", ["1,2,x", "3,oops,y", "5,6,x", "7,8,y"])
    cfg = write(tmp_path / "my.yaml", f"task: {{kind: table, train_file: t.csv}}\n{MLP}")
    prof = write(tmp_path / "p.yaml", "{name: p, device: cpu, threads: 1}\n")
    env = {**os.environ, "ARCHBENCH_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "archbench", "sweep", "-c", str(cfg), "-p", str(prof), "-o",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "t.csv: row 2.b: not a number: 'oops'" in lines[0]
