"""Search spaces in YAML: parsing, conditional parameters, grid, candidates, and one-line errors."""

from __future__ import annotations

import textwrap

import pytest

from archbench.errors import ConfigError
from archbench.search_space import load_search_space, values_from_params

SMALL = """
task: {kind: digits}
train: {epochs: 2}
search:
  base: {name: m, kind: builtin, family: mlp, variants: [onnx]}
  params:
    layers: {type: int, low: 1, high: 2}
    width: {type: categorical, choices: [8, 32], path: params.hidden, repeat: layers}
"""


def write(tmp_path, text, name="s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def with_params(params: str, base: str = "{name: m, kind: builtin, family: mlp, variants: [onnx]}") -> str:
    return f"task: {{kind: digits}}\nsearch:\n  base: {base}\n  params:\n" + textwrap.indent(
        textwrap.dedent(params).strip(), "    ") + "\n"  # fmt: skip


def study():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(directions=["maximize", "minimize", "minimize"])


@pytest.mark.parametrize("example", ["mlp", "cnn"])
def test_shipped_examples_sample_valid_candidates(example):
    from pathlib import Path

    space = load_search_space(Path(__file__).parent.parent / "examples" / "search" / f"{example}.yaml")
    s = study()
    for i in range(15):
        trial = s.ask()
        values = space.suggest(trial)
        cand = space.candidate(values, f"c{i}")
        count = values["layers"] if example == "mlp" else values["blocks"]
        listed = cand.params["hidden"] if example == "mlp" else cand.params["channels"]
        assert len(listed) == count and listed == values["width" if example == "mlp" else "channels"]
        assert cand.variants == [values["variant"]]
        if example == "mlp":
            assert ("dropout" in values) == (count > 1)  # `when`: only with more than one layer
        assert values_from_params(space, trial.params) == values  # Optuna's names fold back into values
        s.tell(trial, [0.5, 1.0, 1.0])


def test_grid_enumerates_conditional_space(tmp_path):
    space = load_search_space(write(tmp_path, SMALL))
    grid = space.grid()
    hidden = sorted(tuple(space.candidate(values_from_params(space, p), "x").params["hidden"]) for p in grid)
    assert hidden == [(8,), (8, 8), (8, 32), (32,), (32, 8), (32, 32)]


def test_paths_of_other_kinds(tmp_path):
    text = """
    task: {kind: text, train_file: data/train.csv, test_file: data/test.csv}
    search:
      base: {name: b, kind: hf-config, variants: [onnx]}
      params:
        hidden: {type: categorical, choices: [32, 64], path: config.hidden_size}
        max_length: {type: int, low: 16, high: 128, step: 16, path: max_length}
        lr: {type: float, low: 0.0001, high: 0.01, log: true, path: train.lr}
        variant: {type: categorical, choices: [torch, onnx, onnx-int8], path: variants}
    """
    (tmp_path / "data").mkdir()
    for split in ("train", "test"):
        (tmp_path / "data" / f"{split}.csv").write_text("text,label\nhello there,a\ngood bye,b\n")
    space = load_search_space(write(tmp_path, text))
    cand = space.candidate({"hidden": 32, "max_length": 64, "lr": 0.001, "variant": "torch"}, "t1")
    assert cand.config.hidden_size == 32 and cand.max_length == 64 and cand.variants == ["torch"]
    assert cand.train.lr == 0.001 and cand.train.epochs == space.config.train.epochs  # the file's training
    with pytest.raises(ValueError, match="num_attention_heads"):
        space.candidate({"hidden": 33}, "t2")  # a combination that does not fit fails the trial, not the search


def test_import_kwargs_must_exist_on_the_base(tmp_path):
    base = "{name: u, kind: import, target: 'mymodels:make', kwargs: {width: 16}, variants: [torch]}"
    param = "w: {type: int, low: 4, high: 64, path: kwargs.width}"
    space = load_search_space(write(tmp_path, with_params(param, base)))
    assert space.candidate({"w": 8}, "x").kwargs == {"width": 8}
    with pytest.raises(ConfigError, match=r"search\.params\.d\.path: 'kwargs\.depth': 'depth' is not a field"):
        load_search_space(write(tmp_path, with_params("d: {type: int, low: 1, high: 3, path: kwargs.depth}", base)))


def test_base_by_name_from_candidates(tmp_path):
    text = """
    candidates:
      - {name: small, kind: builtin, family: cnn, params: {channels: [4], hidden: 16}, variants: [onnx]}
    search:
      base: small
      params:
        hidden: {type: int, low: 8, high: 64, path: params.hidden}
    """
    space = load_search_space(write(tmp_path, text))
    assert space.candidate({"hidden": 9}, "x").params == {"channels": [4], "hidden": 9}


BAD = [
    ("task: {kind: digits}\n", "search", "required key is missing"),
    (with_params("{}"), "search.params", "at least 1"),
    (with_params("w: {type: int, low: 9, high: 3, path: params.hidden}"), "search.params.w", "empty range"),
    (with_params("w: {type: int, low: 0, high: 3, log: true, path: params.dropout}"), "search.params.w.low",
     "above 0"),
    (with_params("w: {type: categorical, choices: [], path: params.dropout}"), "search.params.w.choices",
     "non-empty"),
    (with_params("w: {type: int, low: 1, high: 3, path: params.width}"), "search.params.w.path",
     "'width' is not a field"),
    (with_params("w: {type: int, low: 1, high: 3, path: name}"), "search.params.w.path", "cannot be searched"),
    (with_params("w: {type: int, low: 8, high: 64, path: params.hidden, repeat: n}"), "search.params.w.repeat",
     "no parameter named 'n'"),
    (with_params("a: {type: int, low: 1, high: 2, when: {b: [1]}}\nb: {type: int, low: 1, high: 2, when: {a: [1]}}"),
     "search.params.a", "circular"),
    (with_params("n: {type: int, low: 1, high: 2}\nw: {type: float, low: 0.0, high: 0.5, path: params.dropout, "
                 "when: {n: [7]}}"), "search.params.w.when.n", "not a value"),
    (with_params("n: {type: int, low: 1, high: 3}"), "search.params.n", "changes nothing"),
    (with_params("a: {type: float, low: 0.0, high: 0.5, path: params.dropout}\n"
                 "b: {type: float, low: 0.0, high: 0.2, path: params.dropout}"), "search.params.b.path", "already set"),
    (with_params("n: {type: int, low: 1, high: 2}\nw: {type: int, low: 8, high: 99999, path: params.hidden, "
                 "repeat: n}"), "search.params.w", "does not fit the base candidate"),
    (with_params("w: {type: float, low: 0.0, high: 0.5, path: params.dropout}",
                 "{name: m, kind: builtin, family: mlp, variants: [onnx, torch]}"), "search.base.variants",
     "exactly one"),
    (with_params("w: {type: float, low: 0.0, high: 0.5, path: params.dropout}",
                 "{name: m, kind: builtin, family: rnn}"), "search.base.family", "mlp"),
    (with_params("w: {type: int, low: 1.5, high: 3, path: params.dropout}"), "search.params.w", "integers"),
]


@pytest.mark.parametrize(("text", "key", "reason"), BAD)
def test_bad_spaces_are_one_line_errors(tmp_path, text, key, reason):
    with pytest.raises(ConfigError) as info:
        load_search_space(write(tmp_path, text))
    assert info.value.key == key and reason in info.value.reason, str(info.value)
    assert "\n" not in str(info.value)


def test_grid_needs_finite_space(tmp_path):
    space = load_search_space(write(tmp_path, with_params("w: {type: float, low: 0.0, high: 0.5, path: "
                                                          "params.dropout}")))  # fmt: skip
    with pytest.raises(ConfigError, match="give this float a step"):
        space.grid()
