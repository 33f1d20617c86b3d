"""Text task from the user's files: loading, splits, labels, slices, and one-line errors. No training."""

from __future__ import annotations

import numpy as np
import pytest

from archbench.errors import ConfigError
from archbench.tasks.base import TaskData
from archbench.tasks.text import load_text_task, stratified_split
from archbench.tasks.text_spec import TextTaskSpec
from tests.text_data import rows, write_csv, write_jsonl, write_split


def spec(**kw) -> TextTaskSpec:
    return TextTaskSpec.model_validate({"kind": "text", **kw})


def load(tmp_path, **kw) -> TaskData:
    train, test = write_split(tmp_path)
    return load_text_task(spec(train_file=str(train), test_file=str(test), **kw), "cands.yaml")


def test_train_and_test_files(tmp_path):
    task = load(tmp_path)
    assert task.kind == "text" and task.num_classes == 2
    assert task.info["labels"] == ["neg", "pos"]
    assert len(task.x_train) == 60 and len(task.x_test) == 20
    assert task.x_test.dtype.kind == "U" and task.y_test.dtype.kind == "i"
    assert set(task.y_train.tolist()) == {0, 1}


def test_default_slices_split_the_test_set_at_the_median_length(tmp_path):
    task = load(tmp_path)
    short, long = task.slices["short"], task.slices["long"]
    assert set(task.slices) == {"short", "long"}
    assert len(short) + len(long) == len(task.x_test) and not set(short) & set(long)
    lengths = np.array([len(t.split()) for t in task.x_test])
    assert lengths[long].min() > lengths[short].max() - 1  # long really is longer
    assert "pre-tokens" in task.info["length_unit"]


def test_jsonl_with_custom_columns(tmp_path):
    data = [{"body": r["text"], "y": r["label"], "stars": r["stars"]} for r in rows()]
    train = write_jsonl(tmp_path / "train.jsonl", data[:60])
    test = write_jsonl(tmp_path / "test.jsonl", data[60:])
    task = load_text_task(spec(train_file=str(train), test_file=str(test), text_column="body", label_column="y"))
    assert len(task.x_test) == 20 and task.info["text_column"] == "body"


def test_one_file_split_with_a_seed_is_stratified_and_repeatable(tmp_path):
    path = write_csv(tmp_path / "all.csv", rows(80))
    a = load_text_task(spec(train_file=str(path), test_fraction=0.25, seed=3))
    b = load_text_task(spec(train_file=str(path), test_fraction=0.25, seed=3))
    c = load_text_task(spec(train_file=str(path), test_fraction=0.25, seed=4))
    assert len(a.x_test) == 20 and len(a.x_train) == 60
    assert a.x_test.tolist() == b.x_test.tolist() and a.x_test.tolist() != c.x_test.tolist()
    assert np.bincount(a.y_test).tolist() == [10, 10]
    assert not set(a.x_test.tolist()) & set(a.x_train.tolist())


def test_stratified_split_keeps_rare_labels_on_both_sides():
    train, test = stratified_split(["a"] * 10 + ["b"] * 2, 0.1, seed=0)
    labels = np.array(["a"] * 10 + ["b"] * 2)
    assert "b" in labels[train] and "b" in labels[test]
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(12))


def test_subsampling_is_seeded(tmp_path):
    task = load(tmp_path, max_train=30, max_test=10)
    again = load(tmp_path, max_train=30, max_test=10)
    assert len(task.x_train) == 30 and len(task.x_test) == 10
    assert task.x_train.tolist() == again.x_train.tolist()


def test_numeric_labels_sort_as_numbers(tmp_path):
    data = [{"text": f"text number {i}", "label": str([2, 10][i % 2])} for i in range(20)]
    path = write_csv(tmp_path / "d.csv", data)
    task = load_text_task(spec(train_file=str(path)))
    assert task.info["labels"] == ["2", "10"]


def test_text_task_round_trips_through_npz(tmp_path):
    task = load(tmp_path)
    task.x_test[0] = "crème brûlée — naïve 🙂"
    path = tmp_path / "task.npz"
    task.save(path)
    back = TaskData.load(path)
    assert back.kind == "text" and back.x_test[0] == "crème brûlée — naïve 🙂"
    assert back.info == task.info and set(back.slices) == set(task.slices)


# ---- declared slices ---------------------------------------------------------------------------


def test_slices_by_words_column_value_and_filter(tmp_path):
    task = load(tmp_path, slices=[
        {"name": "few-words", "words": {"max": 8}},
        {"name": "app", "where": [{"column": "source", "value": "app"}]},
        {"name": "high", "where": [{"column": "stars", "op": ">=", "value": 4}]},
        {"name": "app-or-web", "where": [{"column": "source", "op": "in", "value": ["app", "web"]}]},
        {"name": "long-app", "words": {"min": 8}, "where": [{"column": "source", "op": "==", "value": "app"}]},
        {"name": "coffee", "where": [{"column": "text", "op": "contains", "value": "coffee"}]},
    ])  # fmt: skip
    test = rows()[60:]
    expect = {
        "few-words": [i for i, r in enumerate(test) if len(r["text"].split()) < 8],
        "app": [i for i, r in enumerate(test) if r["source"] == "app"],
        "high": [i for i, r in enumerate(test) if r["stars"] >= 4],
        "app-or-web": list(range(20)),
        "long-app": [i for i, r in enumerate(test) if r["source"] == "app" and len(r["text"].split()) >= 8],
        "coffee": [i for i, r in enumerate(test) if "coffee" in r["text"]],
    }
    assert {k: v.tolist() for k, v in task.slices.items()} == expect


def test_token_slices_use_the_length_tokenizer(tmp_path):
    from archbench.candidates.text_tokenizer import train_tokenizer

    tok = train_tokenizer([r["text"] for r in rows()], {"kind": "wordpiece", "vocab_size": 100, "min_frequency": 1,
                                                         "lowercase": True})  # fmt: skip
    tok.save(str(tmp_path / "tokenizer.json"))
    task = load(tmp_path, length_tokenizer=str(tmp_path), slices=[{"name": "long", "tokens": {"min": 20}}])
    assert "tokens of" in task.info["length_unit"]
    enc = [len(tok.encode(t, add_special_tokens=False).ids) for t in task.x_test]
    assert task.slices["long"].tolist() == [i for i, n in enumerate(enc) if n >= 20]


def test_an_empty_slice_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, slices=[{"name": "ok", "words": {"min": 1}}, {"name": "none", "words": {"min": 1000}}])
    assert (exc.value.file, exc.value.key) == ("cands.yaml", "task.slices.1")
    assert "selects no test example" in exc.value.reason


def test_a_slice_on_a_missing_column_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, slices=[{"name": "x", "where": [{"column": "country", "value": "fr"}]}])
    assert exc.value.key == "task.slices.0.where.0.column" and "country" in exc.value.reason


def test_a_numeric_filter_on_text_values_is_an_error(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load(tmp_path, slices=[{"name": "x", "where": [{"column": "source", "op": ">", "value": 2}]}])
    assert exc.value.key == "task.slices.0.where.0" and "not a number" in exc.value.reason


# ---- file errors -------------------------------------------------------------------------------


def test_missing_column_names_file_key_and_columns(tmp_path):
    train, test = write_split(tmp_path)
    with pytest.raises(ConfigError) as exc:
        load_text_task(spec(train_file=str(train), test_file=str(test), text_column="review"))
    assert exc.value.file == str(train) and exc.value.key == "task.text_column"
    assert "'review'" in exc.value.reason and "text, label" in exc.value.reason


def test_empty_text_names_the_row(tmp_path):
    data = rows()
    data[2]["text"] = "   "
    path = write_csv(tmp_path / "train.csv", data)
    with pytest.raises(ConfigError) as exc:
        load_text_task(spec(train_file=str(path)))
    assert (exc.value.key, exc.value.reason) == ("row 3.text", "empty text")


def test_missing_text_in_jsonl_names_the_line(tmp_path):
    data = rows()
    del data[4]["text"]
    path = write_jsonl(tmp_path / "train.jsonl", data)
    with pytest.raises(ConfigError) as exc:
        load_text_task(spec(train_file=str(path)))
    assert (exc.value.key, exc.value.reason) == ("line 5.text", "missing text")


def test_test_label_never_seen_in_training(tmp_path):
    data = rows()
    data[70]["label"] = "meh"
    train = write_csv(tmp_path / "train.csv", data[:60])
    test = write_csv(tmp_path / "test.csv", data[60:])
    with pytest.raises(ConfigError) as exc:
        load_text_task(spec(train_file=str(train), test_file=str(test)))
    assert exc.value.file == str(test) and exc.value.key == "row 11.label"
    assert "'meh' never appears in the training data" in exc.value.reason


def test_one_training_label_is_an_error(tmp_path):
    path = write_csv(tmp_path / "d.csv", [{"text": f"t {i}", "label": "x"} for i in range(10)])
    with pytest.raises(ConfigError, match="only one label"):
        load_text_task(spec(train_file=str(path)))


@pytest.mark.parametrize(
    ("content", "name", "key", "reason"),
    [
        (b"\xff\xfe\x00bad", "d.csv", "<file>", "not UTF-8"),
        (b"", "d.csv", "<file>", "empty"),
        (b"text,label\n", "d.csv", "<file>", "no data rows"),
        (b'{"text": "a", "label": "x"}\n{not json\n', "d.jsonl", "line 2", "invalid JSON"),
        (b'["a", "x"]\n', "d.jsonl", "line 1", "JSON object"),
        (b'text,label\n"unterminated,x\n', "d.csv", "line 2", "malformed CSV"),
        (b"text\tlabel\n", "d.parquet", "task.format", "set format"),
    ],
)
def test_unreadable_files(tmp_path, content, name, key, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as exc:
        load_text_task(spec(train_file=str(path)))
    assert exc.value.key == key and reason in exc.value.reason


def test_a_directory_is_not_a_data_file(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        load_text_task(spec(train_file=str(tmp_path / "d.csv")))
