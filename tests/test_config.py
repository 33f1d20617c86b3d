"""Config loading and validation: every user mistake is a one-line ConfigError naming file, key and reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from archbench.config import (
    MAX_ALIASES,
    MAX_CONFIG_BYTES,
    BuiltinCandidate,
    CnnParams,
    HardwareProfile,
    ImportCandidate,
    MlpParams,
    OnnxCandidate,
    SweepConfig,
    load_profile,
    load_sweep_config,
    load_yaml,
    validate,
)
from archbench.errors import ArchbenchError, ConfigError

PROFILE = """\
name: edge-1core
description: a 1-core edge box
device: cpu
threads: 1
"""

FULL_PROFILE = """\
name: edge-1core
description: "1-core box"
device: cpu
threads: 1
cores: [0]
batch_size: 4
input_shape: [1, 8, 8]
seq_len: real
budget:
  latency_ms: 10
  percentile: p99
  memory_mb: 512
  min_accuracy: 0.9
  max_model_mb: 20
  min_throughput: 100
  min_slice_accuracy:
    long: 0.8
measure:
  confidence: 0.95
  min_samples: 50
  max_samples: 5000
upstream:
  - name: ocr
    latency_ms: 2.5
    accuracy: 0.97
"""

SWEEP = """\
train:
  epochs: 3
candidates:
  - name: mlp-small
    kind: builtin
    family: mlp
    params: {hidden: [32, 16], dropout: 0.1}
  - name: cnn
    kind: builtin
    family: cnn
    params: {channels: [4], hidden: 16}
    train: {epochs: 1}
  - name: mine
    kind: import
    target: my_pkg.models:make_model
    kwargs: {width: 8}
    variants: [torch, onnx-int8]
  - name: exported
    kind: onnx
    path: models/exported.onnx
repeats: 2
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def profile_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    check_one_line(info.value, path)
    return info.value


def sweep_error(tmp_path: Path, text: str) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_sweep_config(path)
    check_one_line(info.value, path)
    return info.value


def check_one_line(err: ConfigError, path: Path) -> None:
    msg = str(err)
    assert "\n" not in msg and "\r" not in msg
    assert msg == f"{err.file}: {err.key}: {err.reason}"
    assert err.file == str(path)
    assert err.key and err.reason


# ---- valid files -----------------------------------------------------------------------------------


def test_minimal_profile_gets_defaults(tmp_path):
    p = load_profile(write(tmp_path, PROFILE))
    assert isinstance(p, HardwareProfile)
    assert (p.name, p.device, p.threads, p.batch_size) == ("edge-1core", "cpu", 1, 1)
    assert p.budget.latency_ms is None and p.budget.percentile == "p95" and p.budget.quantile == 0.95
    assert p.budget.min_slice_accuracy == {}
    assert p.measure.confidence == 0.99 and p.measure.fixed_samples is None
    assert p.upstream == [] and p.cores is None


def test_full_profile(tmp_path):
    p = load_profile(write(tmp_path, FULL_PROFILE))
    assert p.cores == [0] and p.batch_size == 4 and p.input_shape == [1, 8, 8] and p.seq_len == "real"
    b = p.budget
    assert (b.latency_ms, b.percentile, b.quantile) == (10.0, "p99", 0.99)
    assert (b.memory_mb, b.min_accuracy, b.max_model_mb, b.min_throughput) == (512.0, 0.9, 20.0, 100.0)
    assert b.min_slice_accuracy == {"long": 0.8}
    assert (p.measure.confidence, p.measure.min_samples, p.measure.max_samples) == (0.95, 50, 5000)
    assert len(p.upstream) == 1
    assert (p.upstream[0].name, p.upstream[0].latency_ms, p.upstream[0].accuracy) == ("ocr", 2.5, 0.97)


def test_profile_is_frozen(tmp_path):
    p = load_profile(write(tmp_path, FULL_PROFILE))
    with pytest.raises(ValidationError):
        p.threads = 2  # type: ignore[misc]
    with pytest.raises(ValidationError):
        p.budget.latency_ms = 1.0  # type: ignore[misc]


def test_valid_sweep(tmp_path):
    write(tmp_path, "not really onnx", "models/exported.onnx")
    cfg = load_sweep_config(write(tmp_path, SWEEP))
    assert isinstance(cfg, SweepConfig)
    assert [c.name for c in cfg.candidates] == ["mlp-small", "cnn", "mine", "exported"]
    mlp, cnn, mine, exported = cfg.candidates
    assert isinstance(mlp, BuiltinCandidate) and mlp.family == "mlp" and mlp.variants == ["torch", "onnx"]
    assert mlp.family_params() == MlpParams(hidden=[32, 16], dropout=0.1)
    assert isinstance(cnn, BuiltinCandidate) and cnn.family_params() == CnnParams(channels=[4], hidden=16)
    assert isinstance(mine, ImportCandidate) and mine.target == "my_pkg.models:make_model"
    assert mine.kwargs == {"width": 8} and mine.variants == ["torch", "onnx-int8"]
    assert isinstance(exported, OnnxCandidate) and exported.variants == ["onnx"]
    assert cfg.repeats == 2 and cfg.task.kind == "digits"
    assert cfg.train_settings(mlp).epochs == 3
    assert cfg.train_settings(cnn).epochs == 1


def test_onnx_path_is_relative_to_the_yaml_directory(tmp_path, monkeypatch):
    model = write(tmp_path, "x", "conf/models/exported.onnx")
    config = write(tmp_path, SWEEP, "conf/sweep.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_sweep_config(config)
    assert Path(cfg.candidates[3].path) == model.resolve()
    assert Path(cfg.candidates[3].path).is_absolute()


def test_onnx_path_resolved_against_cwd_is_not_enough(tmp_path, monkeypatch):
    # the file exists relative to the working directory, but not next to the YAML file
    write(tmp_path, "x", "models/exported.onnx")
    config = write(tmp_path, SWEEP, "conf/sweep.yaml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_sweep_config(config)
    assert info.value.key == "candidates.3.path"


def test_absolute_onnx_path(tmp_path):
    model = write(tmp_path, "x", "abs/model.onnx")
    cfg = load_sweep_config(write(tmp_path, f"candidates:\n  - {{name: m, kind: onnx, path: '{model}'}}\n"))
    assert cfg.candidates[0].path == str(model)


def test_import_weights_resolved_and_checked(tmp_path):
    text = "candidates:\n  - {name: m, kind: import, target: 'a.b:c', weights: w/m.safetensors}\n"
    err = sweep_error(tmp_path, text)
    assert err.key == "candidates.0.weights" and "m.safetensors" in err.reason
    weights = write(tmp_path, "x", "w/m.safetensors")
    cfg = load_sweep_config(tmp_path / "config.yaml")
    assert Path(cfg.candidates[0].weights) == weights.resolve()


# ---- file-level failures ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    check_one_line(info.value, path)
    assert "nope.yaml" in str(info.value)
    assert "no such file" in info.value.reason


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_yaml(tmp_path)
    assert "directory" in info.value.reason


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    check_one_line(info.value, path)
    assert "UTF-8" in info.value.reason


def test_too_large_file_refused(tmp_path):
    path = write(tmp_path, "# " + "x" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError) as info:
        load_yaml(path)
    assert "too large" in info.value.reason


def test_config_error_is_an_archbench_error_and_collapses_whitespace():
    err = ConfigError("f.yaml", "", "first line\n  second\tline")
    assert isinstance(err, ArchbenchError)
    assert str(err) == "f.yaml: <root>: first line second line"


# ---- YAML-level failures ---------------------------------------------------------------------------


def test_malformed_yaml_names_the_line(tmp_path):
    err = profile_error(tmp_path, "name: p\n  device: cpu\n")
    assert err.key.startswith("line 2")
    assert "invalid YAML" in err.reason
    err = profile_error(tmp_path, PROFILE + "budget: {latency_ms: 10\n")
    assert err.key.startswith("line ")
    assert "invalid YAML" in err.reason


def test_tab_indentation_is_malformed(tmp_path):
    err = profile_error(tmp_path, "name: p\nbudget:\n\tlatency_ms: 10\n")
    assert err.key.startswith("line 3")


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo pwned']\n",
        "!!python/object/new:os.system [echo pwned]\n",
        "name: !!python/name:os.system\n",
        "name: !!python/object:builtins.dict {}\n",
    ],
)
def test_python_tags_are_refused(tmp_path, text, capfd):
    err = profile_error(tmp_path, text)
    assert "invalid YAML" in err.reason
    assert "constructor" in err.reason
    assert err.key.startswith("line 1")
    assert "pwned" not in capfd.readouterr().out


def test_alias_bomb_is_refused_quickly(tmp_path):
    # billion laughs, deep enough that expanding it would never finish
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 16):
        lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]")
    path = write(tmp_path, "\n".join(lines) + "\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert time.perf_counter() - start < 2.0
    check_one_line(info.value, path)
    assert info.value.key == "<yaml>"
    assert "alias" in info.value.reason


def test_alias_limit_is_exact(tmp_path):
    anchor = "a: &x 1\n"
    ok = write(tmp_path, anchor + "b: [" + ", ".join(["*x"] * MAX_ALIASES) + "]\n", "ok.yaml")
    assert len(load_yaml(ok)["b"]) == MAX_ALIASES
    bad = write(tmp_path, anchor + "b: [" + ", ".join(["*x"] * (MAX_ALIASES + 1)) + "]\n", "bad.yaml")
    with pytest.raises(ConfigError):
        load_yaml(bad)


def test_billion_laughs_under_the_alias_limit_is_refused(tmp_path):
    levels = ['      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        levels.append(f"      {cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    text = "candidates:\n  - name: m\n    kind: import\n    target: pkg.mod:make\n    kwargs:\n" + "\n".join(levels)
    path = write(tmp_path, text + "\n")
    start = time.perf_counter()
    with pytest.raises(ConfigError):
        load_sweep_config(path)  # never dumped here: that would hang
    assert time.perf_counter() - start < 2.0


def test_deeply_nested_yaml_is_refused(tmp_path):
    err = profile_error(tmp_path, "name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "invalid YAML" in err.reason


def test_invalid_timestamp_is_a_config_error(tmp_path):
    err = profile_error(tmp_path, PROFILE.replace("a 1-core edge box", "2024-13-45"))
    assert "invalid YAML" in err.reason


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("hello\n", "str"), ("42\n", "int")])
def test_top_level_must_be_a_mapping(tmp_path, text, kind):
    err = profile_error(tmp_path, text)
    assert err.key == "<root>"
    assert "mapping" in err.reason and kind in err.reason
    err = sweep_error(tmp_path, text)
    assert err.key == "<root>"


def test_validate_refuses_non_mapping_directly():
    with pytest.raises(ConfigError) as info:
        validate(HardwareProfile, ["name", "p"], "x.yaml")
    assert str(info.value).startswith("x.yaml: <root>: ")


# ---- profile validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (PROFILE + "foo: 1\n", "foo", "unknown key"),
        (PROFILE + "budget:\n  foo: 1\n", "budget.foo", "unknown key"),
        (PROFILE + "measure:\n  samples: 1\n", "measure.samples", "unknown key"),
        (PROFILE + "upstream:\n  - {name: ocr, extra: 1}\n", "upstream.0.extra", "unknown key"),
        (PROFILE + "budget:\n  latency_ms: 0\n", "budget.latency_ms", "greater than 0"),
        (PROFILE + "budget:\n  latency_ms: -5\n", "budget.latency_ms", "greater than 0"),
        (PROFILE + "budget:\n  memory_mb: 0\n", "budget.memory_mb", "greater than 0"),
        (PROFILE + "budget:\n  max_model_mb: -1\n", "budget.max_model_mb", "greater than 0"),
        (PROFILE + "budget:\n  min_throughput: 0\n", "budget.min_throughput", "greater than 0"),
        (PROFILE + "budget:\n  latency_ms: .nan\n", "budget.latency_ms", "finite"),
        (PROFILE + "budget:\n  latency_ms: .inf\n", "budget.latency_ms", "finite"),
        (PROFILE + "budget:\n  min_accuracy: 1.5\n", "budget.min_accuracy", "less than or equal to 1"),
        (PROFILE + "budget:\n  min_accuracy: 0\n", "budget.min_accuracy", "greater than 0"),
        (PROFILE + "budget:\n  min_slice_accuracy: {long: 2}\n", "budget.min_slice_accuracy.long", "less than"),
        (PROFILE + "budget:\n  percentile: p42\n", "budget.percentile", "'p95'"),
        (PROFILE + "budget:\n  percentile: 95\n", "budget.percentile", "'p95'"),
        (PROFILE + "budget: 10\n", "budget", "valid dictionary"),
        (PROFILE.replace("device: cpu", "device: tpu"), "device", "'cpu' or 'cuda'"),
        (PROFILE.replace("threads: 1", "threads: many"), "threads", "valid integer"),
        (PROFILE.replace("threads: 1", "threads: 1.5"), "threads", "integer"),
        (PROFILE.replace("threads: 1", "threads: 0"), "threads", "greater than or equal to 1"),
        (PROFILE.replace("threads: 1", "threads: [1]"), "threads", "valid integer"),
        (PROFILE.replace("threads: 1\n", ""), "threads", "required key is missing"),
        (PROFILE.replace("name: edge-1core", "name: ../etc/passwd"), "name", "pattern"),
        (PROFILE.replace("name: edge-1core", "name: 123"), "name", "valid string"),
        (PROFILE + "cores: [0, 0]\n", "cores", "distinct"),
        (PROFILE + "cores: []\n", "cores", "non-empty"),
        (PROFILE + "cores: [-1]\n", "cores.0", "greater than or equal to 0"),
        (
            PROFILE + "measure:\n  min_samples: 100\n  max_samples: 50\n",
            "measure",
            "max_samples must be >= min_samples",
        ),
        (PROFILE + "measure:\n  confidence: 1.0\n", "measure.confidence", "less than 1"),
        (PROFILE + "upstream:\n  - name: ocr\n    latency_ms: -1\n", "upstream.0.latency_ms", "greater than or equal"),
        (PROFILE + "upstream:\n  - latency_ms: 1\n", "upstream.0.name", "required key is missing"),
    ],
)
def test_profile_errors_name_key_and_reason(tmp_path, text, key, reason):
    err = profile_error(tmp_path, text)
    assert err.key == key
    assert reason in err.reason
    assert not err.reason.startswith("Value error")


def test_bad_slice_name_is_named(tmp_path):
    err = profile_error(tmp_path, PROFILE + "budget:\n  min_slice_accuracy: {'bad name!': 0.5}\n")
    assert err.key.startswith("budget.min_slice_accuracy.bad name!")
    assert "pattern" in err.reason


def test_union_field_error_names_the_user_key(tmp_path):
    err = profile_error(tmp_path, PROFILE + "seq_len: sometimes\n")
    assert err.key == "seq_len"
    assert "real" in err.reason


def test_error_key_keeps_user_keys_that_look_like_union_tags(tmp_path):
    err = profile_error(tmp_path, PROFILE + "budget:\n  min_slice_accuracy: {text: 2}\n")
    assert err.key == "budget.min_slice_accuracy.text"


@pytest.mark.parametrize(
    "text", [PROFILE.replace("threads: 1", "threads: yes"), PROFILE + "budget:\n  latency_ms: true\n"]
)
def test_booleans_are_not_numbers(tmp_path, text):
    profile_error(tmp_path, text)


# ---- sweep validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("candidates: []\n", "candidates", "at least 1"),
        ("repeats: 2\n", "candidates", "required key is missing"),
        ("candidates:\n  - {name: m, kind: builtin, family: mlp}\nfoo: 1\n", "foo", "unknown key"),
        ("candidates:\n  - {name: m, kind: builtin, family: mlp, depth: 3}\n", "candidates.0.depth", "unknown key"),
        ("candidates:\n  - {name: m, kind: builtin, family: rnn}\n", "candidates.0.family", "'mlp' or 'cnn'"),
        ("candidates:\n  - {name: m, kind: magic}\n", "candidates.0.kind", "'magic'"),
        (
            "candidates:\n  - {name: m, kind: builtin, family: mlp, variants: [tpu]}\n",
            "candidates.0.variants.0",
            "'torch'",
        ),
        (
            "candidates:\n  - {name: m, kind: builtin, family: mlp, variants: []}\n",
            "candidates.0.variants",
            "at least 1",
        ),
        (
            "candidates:\n  - {name: m, kind: builtin, family: mlp, variants: [onnx, onnx]}\n",
            "candidates.0.variants",
            "must not repeat",
        ),
        (
            "candidates:\n  - {name: m, kind: onnx, path: m.onnx, variants: [torch]}\n",
            "candidates.0.variants",
            "ONNX Runtime",
        ),
        ("candidates:\n  - {name: 'a b', kind: builtin, family: mlp}\n", "candidates.0.name", "pattern"),
        (
            "candidates:\n  - {name: m, kind: builtin, family: mlp, train: {epochs: -1}}\n",
            "candidates.0.train.epochs",
            "greater than or equal to 0",
        ),
        ("train: {lr: 0}\ncandidates:\n  - {name: m, kind: builtin, family: mlp}\n", "train.lr", "greater than 0"),
        (
            "repeats: 0\ncandidates:\n  - {name: m, kind: builtin, family: mlp}\n",
            "repeats",
            "greater than or equal to 1",
        ),
        (
            "task: {kind: digits, test_fraction: 1.5}\ncandidates:\n  - {name: m, kind: builtin, family: mlp}\n",
            "task.test_fraction",
            "less than 1",
        ),
    ],
)
def test_sweep_errors_name_key_and_reason(tmp_path, text, key, reason):
    err = sweep_error(tmp_path, text)
    assert err.key == key
    assert reason in err.reason


@pytest.mark.parametrize(
    "target",
    [
        "os.system(1)",
        "my_pkg.models",
        "my_pkg.models:",
        ":make",
        "my pkg:make",
        "pkg:make.more",
        "1pkg:make",
        "pkg:make; rm -rf /",
    ],
)
def test_bad_import_target(tmp_path, target):
    err = sweep_error(tmp_path, f"candidates:\n  - {{name: m, kind: import, target: '{target}'}}\n")
    assert err.key == "candidates.0.target"
    assert "pattern" in err.reason


@pytest.mark.parametrize("target", ["pkg:make", "my_pkg.sub.mod:Factory", "_p:_f"])
def test_good_import_target(tmp_path, target):
    cfg = load_sweep_config(write(tmp_path, f"candidates:\n  - {{name: m, kind: import, target: '{target}'}}\n"))
    assert cfg.candidates[0].target == target


def test_missing_onnx_file(tmp_path):
    text = "candidates:\n  - {name: a, kind: builtin, family: mlp}\n  - {name: m, kind: onnx, path: nope.onnx}\n"
    err = sweep_error(tmp_path, text)
    assert err.key == "candidates.1.path"
    assert "nope.onnx" in err.reason


def test_onnx_path_that_is_a_directory(tmp_path):
    (tmp_path / "dir.onnx").mkdir()
    err = sweep_error(tmp_path, "candidates:\n  - {name: m, kind: onnx, path: dir.onnx}\n")
    assert err.key == "candidates.0.path"


def test_duplicate_candidate_names(tmp_path):
    text = (
        "candidates:\n"
        "  - {name: m, kind: builtin, family: mlp}\n"
        "  - {name: x, kind: builtin, family: mlp}\n"
        "  - {name: m, kind: builtin, family: cnn}\n"
    )
    err = sweep_error(tmp_path, text)
    assert err.key == "candidates"
    assert "unique" in err.reason and "m" in err.reason.split(":")[-1]


@pytest.mark.parametrize(
    ("params", "inner", "reason"),
    [
        ("{hidden: [0]}", "hidden.0", "greater than or equal to 1"),
        ("{hidden: 64}", "hidden", "valid list"),
        ("{depth: 3}", "depth", "unknown key"),
        ("{dropout: 1.0}", "dropout", "less than 1"),
    ],
)
def test_builtin_params_must_fit_mlp(tmp_path, params, inner, reason):
    text = (
        "candidates:\n"
        "  - {name: a, kind: builtin, family: cnn}\n"
        f"  - {{name: m, kind: builtin, family: mlp, params: {params}}}\n"
    )
    err = sweep_error(tmp_path, text)
    assert err.key == "candidates.1.params"
    assert err.reason.startswith(f"{inner}: ")
    assert reason in err.reason


@pytest.mark.parametrize(
    ("params", "inner"),
    [("{hidden: [64]}", "hidden"), ("{channels: []}", "channels"), ("{dropout: 0.1}", "dropout")],
)
def test_builtin_params_must_fit_cnn(tmp_path, params, inner):
    err = sweep_error(tmp_path, f"candidates:\n  - {{name: m, kind: builtin, family: cnn, params: {params}}}\n")
    assert err.key == "candidates.0.params"
    assert err.reason.startswith(f"{inner}: ")


def test_unknown_key_under_import_candidate(tmp_path):
    err = sweep_error(tmp_path, "candidates:\n  - {name: m, kind: import, target: 'a:b', family: mlp}\n")
    assert err.key == "candidates.0.family"
    assert err.reason == "unknown key"
