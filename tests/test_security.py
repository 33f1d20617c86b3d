"""Safe loading: no pickle anywhere, weights only through safetensors, Hugging Face local-only and never
remote code, YAML safe, and run ids / output files that cannot land outside the results directory.

The source checks walk the AST of every module under archbench/, so files added later are covered too.
"""

from __future__ import annotations

import ast
import os
import pickle
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archbench.config import load_profile, load_sweep_config
from archbench.errors import ConfigError
from archbench.sweep import safe_run_dir
from tests.conftest import write

PACKAGE = Path(__file__).resolve().parents[1] / "archbench"
SOURCES = sorted(PACKAGE.rglob("*.py"))
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}
NETWORK_CALLS = {"hf_hub_download", "snapshot_download", "cached_download", "pipeline", "urlopen", "urlretrieve"}


def calls(tree: ast.AST) -> list[tuple[str, ast.Call]]:
    """(dotted name of what is called, the call) for every call: `torch.load`, `AutoModel.from_pretrained`."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, f = [], node.func
            while isinstance(f, ast.Attribute):
                parts.append(f.attr)
                f = f.value
            if isinstance(f, ast.Name):
                parts.append(f.id)
            out.append((".".join(reversed(parts)), node))
    return out


def keyword(call: ast.Call, name: str, strict: bool = True) -> object:
    """The literal value of a keyword argument; `...` when absent, `None` when not a literal. Strict:
    a **kwargs that could hold it counts as unknown (None), so a required safe setting must be explicit."""
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value.value if isinstance(kw.value, ast.Constant) else None
    return None if strict and any(kw.arg is None for kw in call.keywords) else ...


def problems_in(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(root)
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module.split(".")[0]]
        found += [f"{where}:{node.lineno}: imports {n}" for n in names if n in UNSAFE_MODULES]
    for name, call in calls(tree):
        last, line = name.rsplit(".", 1)[-1], f"{where}:{call.lineno}: {name}(...)"
        if name in ("torch.load", "torch.serialization.load") and keyword(call, "weights_only") is not True:
            found.append(f"{line} without weights_only=True")
        if name.startswith("torch.jit.load") or name in ("os.system", "eval", "exec", "yaml.unsafe_load",
                                                          "yaml.full_load", "yaml.load_all"):  # fmt: skip
            found.append(f"{line} is not allowed")
        if name in ("np.load", "numpy.load") and keyword(call, "allow_pickle") not in (False, ...):
            found.append(f"{line} may unpickle")
        if name == "yaml.load" and not _safe_yaml_loader(call):
            found.append(f"{line} without a SafeLoader")
        if last == "from_pretrained" and keyword(call, "local_files_only") is not True:
            found.append(f"{line} without local_files_only=True")
        if last in ("from_pretrained", "from_config") and keyword(call, "trust_remote_code") is not False:
            found.append(f"{line} without trust_remote_code=False")
        if keyword(call, "trust_remote_code", strict=False) not in (False, ...):
            found.append(f"{line} may trust remote code")
        if keyword(call, "shell", strict=False) not in (False, ...):
            found.append(f"{line} runs a shell")
        if last in NETWORK_CALLS:
            found.append(f"{line} may reach the network")
    return found


def _safe_yaml_loader(call: ast.Call) -> bool:
    for kw in call.keywords:
        if kw.arg == "Loader":
            v = kw.value
            if isinstance(v, ast.Attribute) and v.attr in ("SafeLoader", "CSafeLoader"):
                return True
            return isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "_bounded_safe_loader"
    return False


def test_sources_were_found():
    assert len(SOURCES) > 20 and PACKAGE / "config" / "loading.py" in SOURCES


def test_no_unsafe_loading_in_the_source():
    problems = [p for path in SOURCES for p in problems_in(path)]
    assert problems == []


def test_the_source_check_catches_what_it_must(tmp_path):
    bad = write(
        tmp_path / "archbench" / "bad.py",
        """
        import pickle
        import torch, numpy as np, yaml
        from transformers import AutoModel
        torch.load("w.pt")
        np.load("x.npy", allow_pickle=True)
        yaml.load(text, Loader=yaml.Loader)
        AutoModel.from_pretrained("bert-base-uncased")
        AutoModel.from_pretrained(p, local_files_only=True, trust_remote_code=True)
        subprocess.run(cmd, shell=True)
    """,
    )
    text = "\n".join(problems_in(bad, root=tmp_path))
    for needle in ("imports pickle", "torch.load", "may unpickle", "SafeLoader", "local_files_only",
                   "trust remote code", "runs a shell"):  # fmt: skip
        assert needle in text, (needle, text)


def test_the_yaml_loader_is_a_safe_loader():
    import yaml

    from archbench.config.loading import _bounded_safe_loader

    loader = _bounded_safe_loader()
    assert issubclass(loader, yaml.SafeLoader) and not issubclass(loader, yaml.FullLoader)
    assert not any(str(tag).startswith("tag:yaml.org,2002:python/") for tag in loader.yaml_constructors)


# ---- behaviour: what a malicious file would try, and that it does not happen ----------------------


class _Payload:
    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):  # unpickling this runs os.system: the classic malicious checkpoint
        return (os.system, (f"touch {self.sentinel}",))


def pickle_bomb(path: Path, sentinel: Path) -> Path:
    path.write_bytes(pickle.dumps({"weight": _Payload(sentinel)}))
    return path


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system"])
def test_yaml_python_tags_never_run(tmp_path, tag):
    sentinel = tmp_path / "pwned"
    prof = write(tmp_path / "p.yaml", f"name: {tag} ['touch {sentinel}']\ndevice: cpu\nthreads: 1\n")
    cands = write(tmp_path / "c.yaml", f"candidates:\n  - {tag} ['touch {sentinel}']\n")
    for load, path in ((load_profile, prof), (load_sweep_config, cands)):
        with pytest.raises(ConfigError, match="could not determine a constructor"):
            load(path)
    assert not sentinel.exists()


def test_weights_load_through_safetensors_only(tmp_path):
    """A pickled checkpoint (even named .safetensors) is refused, and its payload never runs."""
    from types import SimpleNamespace

    from archbench.candidates.tensor import BuiltinKind
    from archbench.jobs import BuildOutput

    sentinel = tmp_path / "pwned"
    cand = {"kind": "builtin", "family": "mlp", "params": {"hidden": [4]}}
    task = SimpleNamespace(sample_shape=(1, 8, 8), num_classes=10)
    for name in ("model.safetensors", "model.pt"):
        bomb = pickle_bomb(tmp_path / name, sentinel)
        with pytest.raises(Exception, match=r"(?i)header|safetensor|deserializ"):
            BuiltinKind().load_module(BuildOutput(artifacts={"weights": str(bomb)}), cand, task)
    assert not sentinel.exists()


@pytest.mark.slow
def test_import_candidate_weights_in_the_build_child_refuse_a_pickle(tmp_path, monkeypatch):
    """The build child's weights path (ImportCandidate.weights) goes through safetensors too."""
    from archbench.measure.runner import run_child
    from archbench.tasks.digits import DigitsTaskSpec, load_digits_task

    sentinel = tmp_path / "pwned"
    write(
        tmp_path / "pkg" / "secmodels.py",
        """
        import torch
        def make():
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    """,
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "pkg"))
    load_digits_task(DigitsTaskSpec()).save(tmp_path / "task.npz")
    job = {
        "candidate": {"kind": "import", "name": "m", "target": "secmodels:make", "kwargs": {}, "trained": False,
                      "weights": str(pickle_bomb(tmp_path / "w.safetensors", sentinel)), "variants": ["torch"]},
        "train": {"epochs": 0, "lr": 0.01, "batch_size": 32, "seed": 0, "weight_decay": 0.0},
        "task_path": str(tmp_path / "task.npz"), "out_dir": str(tmp_path / "out"), "variants": ["torch"],
        "memory_headroom_mb": 4096,
    }  # fmt: skip
    (tmp_path / "out").mkdir()
    outcome = run_child("build", job, timeout_s=120)
    assert outcome.payload is None and outcome.error
    assert "safetensors" in outcome.error.lower() or "header" in outcome.error.lower(), outcome.error
    assert not sentinel.exists()


def test_children_run_with_the_hugging_face_hub_offline():
    from archbench.measure.runner import child_env

    env = child_env(1)
    assert env["HF_HUB_OFFLINE"] == "1" and env["TRANSFORMERS_OFFLINE"] == "1"


@pytest.mark.slow
def test_pretrained_directory_cannot_run_remote_code_or_unpickle(tmp_path):
    """A model directory that asks for its own Python code, or holds only a pickled checkpoint."""
    pytest.importorskip("transformers")
    import json

    from archbench.candidates.text_model import encoder_from_pretrained
    from archbench.errors import CandidateError

    sentinel = tmp_path / "pwned"
    remote = tmp_path / "remote"
    write(remote / "modeling_evil.py", f"open({str(sentinel)!r}, 'w').write('ran')\n")
    write(remote / "configuration_evil.py", f"open({str(sentinel)!r}, 'w').write('ran')\n")
    (remote / "config.json").write_text(json.dumps({
        "model_type": "evil", "architectures": ["EvilModel"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig", "AutoModel": "modeling_evil.EvilModel"},
    }))  # fmt: skip
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8, "num_hidden_layers": 1,
                                                      "num_attention_heads": 2, "intermediate_size": 8}))  # fmt: skip
    pickle_bomb(pickled / "pytorch_model.bin", sentinel)
    start = time.perf_counter()
    for directory in (remote, pickled, "bert-base-uncased"):  # the last: a hub id, never fetched
        with pytest.raises(CandidateError):
            encoder_from_pretrained(str(directory), None)
    assert not sentinel.exists()
    assert time.perf_counter() - start < 60  # no network retries


# ---- where files are written ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "run_id",
    [
        "..",
        ".",
        "../x",
        "../../etc",
        "/etc",
        "/tmp/x",
        "a/b",
        "a\\b",
        "",
        " ",
        "x\x00",
        "~",
        "~root",
        "-rf",
        "a" * 65,
        "ü",
        "x/..",
        ".hidden/../..",
    ],
)
def test_run_ids_that_would_leave_the_results_dir_are_refused(tmp_path, run_id):
    with pytest.raises(ConfigError, match="run_id"):
        safe_run_dir(tmp_path / "results", run_id)


@settings(max_examples=300, deadline=None, database=None)
@given(run_id=st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9_.\-/]{0,12}", fullmatch=True))
def test_any_accepted_run_id_stays_inside(run_id):
    out = Path("/tmp/archbench-results-property")
    try:
        run_dir = safe_run_dir(out, run_id)
    except ConfigError as exc:
        assert len(str(exc).splitlines()) == 1
        return
    assert out.resolve() in run_dir.parents and run_dir.name == run_id


def test_a_symlinked_run_dir_pointing_outside_is_refused(tmp_path):
    outside, results = tmp_path / "outside", tmp_path / "results"
    outside.mkdir()
    results.mkdir()
    (results / "evil").symlink_to(outside)
    with pytest.raises(ConfigError, match="inside the results directory"):
        safe_run_dir(results, "evil")
    (results / "real").mkdir()
    (results / "alias").symlink_to(results / "real")
    assert safe_run_dir(results, "alias") == (results / "real").resolve()  # inside: fine


def test_planted_symlinks_inside_a_run_dir_never_write_outside(tmp_path):
    """result.json replaced atomically replaces the link itself; the lock file refuses to follow one."""
    from archbench.cache import file_lock
    from archbench.report import write_result_json

    run_dir, victim, ghost = tmp_path / "run", tmp_path / "victim.txt", tmp_path / "ghost"
    run_dir.mkdir()
    victim.write_text("precious\n")
    (run_dir / "result.json").symlink_to(victim)
    write_result_json(run_dir, [], {}, {}, {"run_id": "run"}, complete=False)
    assert victim.read_text() == "precious\n"
    assert not (run_dir / "result.json").is_symlink()
    (run_dir / ".result.lock").symlink_to(ghost)
    with pytest.raises(ConfigError, match="cannot open lock file"), file_lock(run_dir / ".result.lock"):
        pass
    assert not ghost.exists()
