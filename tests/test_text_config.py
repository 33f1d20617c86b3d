"""Text configuration: task spec, transformer candidates, slices, paths, and slice budgets checked at sweep start."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archbench.cache import Cache
from archbench.config import HfConfigCandidate, HfPretrainedCandidate, load_profile, load_sweep_config
from archbench.errors import ConfigError
from archbench.tasks.text_spec import TextTaskSpec
from tests.conftest import write
from tests.text_data import write_split

TASK = "task: {kind: text, train_file: data/train.csv, test_file: data/test.csv}\n"
TINY = "  - {name: t, kind: hf-config, config: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2}}\n"


def sweep_file(tmp_path: Path, text: str) -> Path:
    write_split(tmp_path / "data")
    return write(tmp_path / "cands.yaml", text)


def error(tmp_path: Path, text: str) -> ConfigError:
    path = sweep_file(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_sweep_config(path)
    assert exc.value.file == str(path)
    return exc.value


def fake_pretrained(root: Path, layers: int = 6, files: tuple[str, ...] = ("model.safetensors", "tokenizer.json"),
                    positions: int = 512) -> Path:  # fmt: skip
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "bert", "num_hidden_layers": layers,
                                                  "max_position_embeddings": positions}))  # fmt: skip
    for name in files:
        (root / name).write_text("{}")
    return root


def test_valid_text_sweep_resolves_paths_against_the_yaml(tmp_path, monkeypatch):
    path = sweep_file(tmp_path, TASK + "candidates:\n" + TINY)
    monkeypatch.chdir("/")
    config = load_sweep_config(path)
    assert isinstance(config.task, TextTaskSpec)
    assert config.task.train_file == str(tmp_path / "data" / "train.csv")
    assert isinstance(config.candidates[0], HfConfigCandidate)
    assert config.candidates[0].config.hidden_size == 16 and config.candidates[0].max_length == 128


def test_pretrained_candidate_path_resolves_and_is_checked(tmp_path):
    fake_pretrained(tmp_path / "enc")
    text = TASK + "candidates:\n  - {name: p, kind: hf-pretrained, path: enc, keep_layers: 2}\n"
    config = load_sweep_config(sweep_file(tmp_path, text))
    cand = config.candidates[0]
    assert isinstance(cand, HfPretrainedCandidate)
    assert cand.path == str(tmp_path / "enc") and cand.mode == "frozen" and cand.keep_layers == 2


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("task: {kind: text, train_file: nope.csv}\ncandidates:\n" + TINY, "task.train_file", "no such file"),
        ("task: {kind: text, train_file: data}\ncandidates:\n" + TINY, "task.train_file", "is a directory"),
        (TASK.replace("}", ", length_tokenizer: tok.json}") + "candidates:\n" + TINY, "task.length_tokenizer",
         "no such file"),
        ("task: {kind: text}\ncandidates:\n" + TINY, "task.train_file", "required key is missing"),
        (TASK.replace("}", ", foo: 1}") + "candidates:\n" + TINY, "task.foo", "unknown key"),
        (TASK + "candidates:\n  - {name: m, kind: builtin, family: mlp}\n", "candidates", "text task takes hf-config"),
        ("candidates:\n" + TINY, "candidates", "digits task takes builtin"),
        (TASK + "candidates:\n  - {name: t, kind: hf-config, config: {hidden_sise: 16}}\n",
         "candidates.0.config.hidden_sise", "unknown key"),
        (TASK + "candidates:\n  - {name: t, kind: hf-config, config: {hidden_size: 30, num_attention_heads: 4}}\n",
         "candidates.0.config", "not a multiple"),
        (TASK + "candidates:\n  - {name: t, kind: hf-config, max_length: 600}\n", "candidates.0",
         "exceeds config.max_position_embeddings"),
        (TASK + "candidates:\n  - {name: t, kind: hf-config, tokenizer: {kind: unigram}}\n",
         "candidates.0.tokenizer.kind", "'bpe' or 'wordpiece'"),
        (TASK + "candidates:\n  - {name: t, kind: hf-pretrained, path: enc, mode: lora}\n", "candidates.0.mode",
         "'frozen' or 'finetune'"),
        (TASK + "candidates:\n  - {name: p, kind: hf-pretrained, path: missing}\n", "candidates.0.path",
         "no such directory"),
    ],
)  # fmt: skip
def test_text_config_errors_name_key_and_reason(tmp_path, text, key, reason):
    err = error(tmp_path, text)
    assert err.key == key and reason in err.reason


@pytest.mark.parametrize(
    ("slices", "key", "reason"),
    [
        ("[{name: s}]", "task.slices.0", "needs tokens, words or where"),
        ("[{name: s, words: {}}]", "task.slices.0.words", "give min, max or both"),
        ("[{name: s, words: {min: 5, max: 5}}]", "task.slices.0.words", "greater than min"),
        ("[{name: s, where: [{column: c, op: '<', value: x}]}]", "task.slices.0.where.0", "needs a number"),
        ("[{name: s, where: [{column: c, op: in, value: x}]}]", "task.slices.0.where.0", "needs a list"),
        ("[{name: s, where: [{column: c, op: '=~', value: x}]}]", "task.slices.0.where.0.op", "'=='"),
        ("[{name: s, where: [{column: c, value: x, code: 1}]}]", "task.slices.0.where.0.code", "unknown key"),
        ("[{name: s, words: {min: 1}}, {name: s, words: {max: 9}}]", "task.slices", "repeated: s"),
        ("[{name: 'a b', words: {min: 1}}]", "task.slices.0.name", "pattern"),
    ],
)
def test_slice_errors(tmp_path, slices, key, reason):
    err = error(tmp_path, TASK.replace("}", f", slices: {slices}}}") + "candidates:\n" + TINY)
    assert err.key == key and reason in err.reason


@pytest.mark.parametrize(
    ("setup", "extra", "key", "reason"),
    [
        ({"files": ("tokenizer.json",)}, "", "candidates.0.path", "no model.safetensors"),
        ({"files": ("model.safetensors", "pytorch_model.bin")}, "", "candidates.0.path", "no tokenizer.json"),
        ({"layers": 6}, ", keep_layers: 7", "candidates.0.keep_layers", "7 > the model's 6 layers"),
        ({"positions": 64}, ", max_length: 128", "candidates.0.max_length", "128 > the model's 64 positions"),
    ],
)
def test_pretrained_directory_problems(tmp_path, setup, extra, key, reason):
    fake_pretrained(tmp_path / "enc", **setup)
    err = error(tmp_path, TASK + f"candidates:\n  - {{name: p, kind: hf-pretrained, path: enc{extra}}}\n")
    assert err.key == key and reason in err.reason


def test_a_directory_without_config_json(tmp_path):
    (tmp_path / "enc").mkdir()
    err = error(tmp_path, TASK + "candidates:\n  - {name: p, kind: hf-pretrained, path: enc}\n")
    assert err.key == "candidates.0.path" and "no config.json" in err.reason


def test_a_profile_budgeting_an_unknown_slice_fails_at_sweep_start(tmp_path):
    from archbench.plan import prepare_task

    config = load_sweep_config(sweep_file(tmp_path, TASK + "candidates:\n" + TINY))
    prof = load_profile(write(tmp_path / "p.yaml", "name: edge\ndevice: cpu\nthreads: 1\n"
                              "budget: {min_slice_accuracy: {short: 0.5, lengthy: 0.5}}\n"))  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        prepare_task(config, [prof], Cache(tmp_path / "cache"), "<config>")
    assert (exc.value.file, exc.value.key) == ("edge", "budget.min_slice_accuracy.lengthy")
    assert "no slice 'lengthy'" in exc.value.reason and "long, short" in exc.value.reason


def test_text_modules_import_no_heavy_library():
    code = (
        "import sys, archbench.cli, archbench.config, archbench.tasks.text, archbench.backends, "
        "archbench.candidates.text_checks, archbench.tasks.batches, archbench.registry, archbench.candidates.hf, "
        "archbench.candidates.tensor, archbench.backends.ort, archbench.backends.torch_eager, archbench.jobs;"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'onnxruntime') if m in sys.modules];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
