"""CLI: every command has --help, bad input exits 2 with one clear line, --help stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import write

COMMANDS = ["sweep", "profiles", "compare", "show", "gate", "search"]


def cli(*args: str, env: dict | None = None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archbench", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)  # fmt: skip


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    proc = cli(*([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    if command:
        assert len(proc.stdout.strip().splitlines()) > 3


def test_help_imports_no_heavy_library():
    code = (
        "import sys; from typer.testing import CliRunner; from archbench.cli import app;"
        "r = CliRunner().invoke(app, ['sweep', '--help']); assert r.exit_code == 0, r.output;"
        "heavy = [m for m in ('torch', 'onnxruntime', 'transformers', 'optuna', 'matplotlib', 'sklearn')"
        " if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("profile_text", "key", "reason"),
    [
        ("name: x\ndevice: tpu\nthreads: 1\n", "device", "cpu"),
        ("name: x\ndevice: cpu\nthreads: 1\nbudget: {latency_ms: -3}\n", "budget.latency_ms", "greater than 0"),
        ("name: x\ndevice: cpu\nthreads: 1\ncolour: red\n", "colour", "unknown key"),
        ("name: x\ndevice: cpu\nthreads: [1\n", "line", "invalid YAML"),
    ],
)
def test_bad_profile_exits_2_naming_file_key_reason(tmp_path, profile_text, key, reason):
    path = write(tmp_path / "bad.yaml", profile_text)
    line = one_line_error(cli("sweep", "--profile", str(path), "--out", str(tmp_path / "r")))
    assert str(path) in line and key in line and reason in line


def test_missing_candidates_file(tmp_path):
    line = one_line_error(cli("sweep", "--candidates", str(tmp_path / "nope.yaml")))
    assert "nope.yaml" in line and "no such file" in line


def test_missing_onnx_file(tmp_path):
    path = write(tmp_path / "c.yaml", "candidates:\n  - {name: m, kind: onnx, path: missing.onnx}\n")
    line = one_line_error(cli("sweep", "--candidates", str(path)))
    assert "candidates.0.path" in line and "missing.onnx" in line


def test_unknown_profile_name(tmp_path):
    line = one_line_error(cli("profiles", "no-such-profile"))
    assert "no-such-profile" in line and "available" in line


def test_run_id_cannot_escape_results_dir(tmp_path, tiny_candidates, tiny_profile):
    line = one_line_error(cli("sweep", "-c", str(tiny_candidates), "-p", str(tiny_profile), "--out",
                              str(tmp_path / "r"), "--run-id", "../../etc"))  # fmt: skip
    assert "run_id" in line


def test_profiles_lists_shipped_and_shows_one():
    proc = cli("profiles")
    assert proc.returncode == 0
    for name in ("edge-1t", "server-2t", "gpu"):
        assert name in proc.stdout
    shown = cli("profiles", "edge-1t")
    assert shown.returncode == 0 and "threads: 1" in shown.stdout


@pytest.mark.slow
def test_sweep_import_string_candidate_and_failure_is_recorded(tmp_path, cache_dir, tiny_profile):
    """A user model by import string is trained and measured; a broken import fails alone."""
    write(tmp_path / "usermodels" / "__init__.py", "")
    write(tmp_path / "usermodels" / "nets.py", """
        import torch
        def make(width=8):
            return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, width), torch.nn.ReLU(),
                                       torch.nn.Linear(width, 10))
    """)
    cands = write(tmp_path / "c.yaml", """
        train: {epochs: 4}
        candidates:
          - {name: user-net, kind: import, target: "usermodels.nets:make", kwargs: {width: 12}}
          - {name: broken, kind: import, target: "usermodels.nope:make", variants: [torch]}
    """)
    import os

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = cli("sweep", "-c", str(cands), "-p", str(tiny_profile), "--out", str(tmp_path / "r"), "--run-id", "x",
               env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    data = json.loads((tmp_path / "r" / "x" / "result.json").read_text())
    by = {(r["candidate"], r["variant"]): r for r in data["results"]}
    assert by[("user-net", "torch")]["status"] == "ok" and by[("user-net", "onnx")]["status"] == "ok"
    assert by[("broken", "torch")]["status"] == "failed"
    assert "usermodels.nope" in by[("broken", "torch")]["error"]
    assert "Pareto front" in proc.stdout
