"""Real-world text files load: characters str.splitlines treats as line breaks (U+0085, U+2028, U+2029,
form feed, vertical tab) are ordinary text inside a quoted CSV field or a JSON string."""

from __future__ import annotations

import csv
import io
import json

import pytest

from archbench.config import load_sweep_config
from archbench.tasks import load_task
from archbench.tasks.text_files import read_table
from tests.conftest import write

ODD = ["\u0085", "\u2028", "\u2029", "\x0c", "\x0b", "\x1c"]
CANDIDATE = "candidates: [{name: t, kind: hf-config}]\n"


def texts() -> list[tuple[str, str]]:
    rows = [(f"review {i}: good{ch}and bad{ch}mixed", "pos" if i % 2 else "neg") for i, ch in enumerate(ODD * 2)]
    return [*rows, ("a plain line, with a comma", "pos"), ('"quoted" and\nmulti-line', "neg")]


def write_csv(path, rows) -> None:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


@pytest.mark.parametrize("odd", ODD)
def test_csv_keeps_each_odd_character_inside_its_field(tmp_path, odd):
    rows = [(f"before{odd}after", "a"), ("next", "b")]
    write_csv(tmp_path / "d.csv", rows)
    table = read_table(tmp_path / "d.csv", None)
    assert [(r["text"], r["label"]) for r in table.rows] == rows


@pytest.mark.parametrize("odd", ODD)
def test_jsonl_keeps_each_odd_character_inside_its_string(tmp_path, odd):
    rows = [{"text": f"before{odd}after", "label": "a"}, {"text": "next", "label": "b"}]
    # ensure_ascii=False writes U+0085/U+2028 raw, as many exporters do (JSON allows it)
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n",
                                      encoding="utf-8")  # fmt: skip
    table = read_table(tmp_path / "d.jsonl", None)
    assert table.rows == rows and table.numbers == [1, 2]


def test_text_task_loads_csv_and_jsonl_with_odd_characters(tmp_path):
    rows = texts()
    write_csv(tmp_path / "train.csv", rows)
    (tmp_path / "train.jsonl").write_text(
        "\r\n".join(json.dumps({"text": t, "label": y}, ensure_ascii=False) for t, y in rows) + "\r\n",
        encoding="utf-8", newline="")  # fmt: skip
    for name in ("train.csv", "train.jsonl"):
        cfg = write(tmp_path / "my.yaml", f"task: {{kind: text, train_file: {name}, test_fraction: 0.25}}\n"
                    + CANDIDATE)  # fmt: skip
        task = load_task(load_sweep_config(cfg).task, cfg)
        loaded = sorted(task.x_train.tolist() + task.x_test.tolist())
        assert loaded == sorted(t for t, _ in rows), name
        assert task.info["labels"] == ["neg", "pos"]


def test_csv_line_numbers_of_errors_still_count_records(tmp_path):
    (tmp_path / "d.csv").write_text('text,label\n"ok\u2028still ok",a\n"unterminated,b\n', encoding="utf-8")
    cfg = write(tmp_path / "my.yaml", "task: {kind: text, train_file: d.csv}\n" + CANDIDATE)
    from archbench.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_task(load_sweep_config(cfg).task, cfg)
    assert "malformed CSV" in info.value.reason
