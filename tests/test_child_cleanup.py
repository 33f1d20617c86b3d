"""A job's processes die with the process that ran run_child, at once, even on a machine with no idle core.

The parent here is a bare `run_child` call in its own interpreter (no sweep around it), so the test
isolates the runner: SIGKILL it while the candidate's factory hangs after starting a daemon
grandchild (setsid + double fork), with two busy loops holding both cores, and time how long the
guard, the worker and the daemon take to disappear.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from archbench.measure.runner import descendants
from archbench.tasks.base import TaskData
from tests.faultkit import (
    PROMPT_S,
    TAG_VAR,
    busy_cores,
    job_dirs,
    new_tag,
    pid_alive,
    pids_in,
    wait_dead,
    wait_until_gone,
    write_fault_package,
)

pytestmark = pytest.mark.slow

PARENT = """
import json, sys
from archbench.measure.runner import run_child
run_child("build", json.loads(sys.argv[1]), timeout_s=600)
"""


def build_job(root: Path, target: str, **kwargs: object) -> dict:
    """A build job for an import candidate, on a tiny random task (no training: trained=True)."""
    rng = np.random.default_rng(0)
    task = TaskData("tiny", "tensor", 10, rng.random((20, 8, 8), dtype=np.float32), rng.integers(0, 10, 20),
                    rng.random((10, 8, 8), dtype=np.float32), rng.integers(0, 10, 10))  # fmt: skip
    task.save(root / "task.npz")
    (root / "out").mkdir()
    return {"candidate": {"kind": "import", "name": "m", "target": target, "kwargs": kwargs, "trained": True,
                          "weights": None, "variants": ["torch"]},
            "train": {"epochs": 0, "lr": 0.01, "batch_size": 32, "seed": 0, "weight_decay": 0.0},
            "task_path": str(root / "task.npz"), "out_dir": str(root / "out"), "variants": ["torch"],
            "memory_headroom_mb": 4096}  # fmt: skip


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_of_the_parent_kills_worker_and_daemon_grandchild_at_once_with_both_cores_busy(tmp_path):
    tmp, pidfile, tag = tmp_path / "tmp", tmp_path / "daemon.pids", new_tag()
    tmp.mkdir()
    write_fault_package(tmp_path / "pkg")
    job = build_job(tmp_path, "faultmodels.nets:hang_in_factory", pidfile=str(pidfile))
    pythonpath = os.pathsep.join([str(tmp_path / "pkg"), str(Path(__file__).resolve().parents[1])])
    env = {**os.environ, "PYTHONPATH": pythonpath, "TMPDIR": str(tmp), TAG_VAR: tag}
    with busy_cores():
        parent = subprocess.Popen([sys.executable, "-c", PARENT, json.dumps(job)], env=env)
        try:
            took = kill_parent_and_time(parent, pidfile)
        finally:
            parent.kill()
            parent.wait()
    print(f"guard, worker and daemon gone {took:.3f} s after the parent's SIGKILL, all cores busy")
    assert took < PROMPT_S, f"took {took:.2f} s"
    assert wait_until_gone(tag) == []
    assert job_dirs(tmp) == []  # removed by the guard: the dead parent could not


def kill_parent_and_time(parent: subprocess.Popen, pidfile: Path) -> float:
    """SIGKILL parent once its job's daemon is up; seconds until guard, worker and daemon are all gone."""
    daemon = wait_for(lambda: pids_in(pidfile), 180, "the factory's daemon grandchild")[0]
    guard = psutil.Process(parent.pid).children()[0].pid
    below = descendants(guard)
    worker = next(p for p in below if psutil.Process(p).ppid() == guard and p != daemon)
    # The daemon left its session and its parent; it was adopted by the guard (a subreaper), not by init.
    assert psutil.Process(daemon).ppid() == guard and os.getsid(daemon) != os.getsid(worker)
    assert daemon in below
    parent.kill()
    parent.wait()
    took = wait_dead([guard, worker, daemon])
    assert not any(pid_alive(p) for p in (guard, worker, daemon))
    return took


def test_kill_tree_finds_and_kills_a_grandchild_in_another_session(tmp_path):
    """The /proc walk follows parent links, not process groups: a setsid() grandchild is found and killed."""
    from archbench.measure.runner import kill_tree

    shell = subprocess.Popen(["sh", "-c", "setsid sleep 300 & echo $! > pid; wait"], cwd=tmp_path)
    try:
        grandchild = int(wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text(), 30, "pid"))
        wait_for(lambda: grandchild in descendants(shell.pid), 30, "the grandchild in the walk")
        assert os.getsid(grandchild) != os.getsid(shell.pid)
        assert kill_tree(shell.pid) == []
        assert wait_dead([grandchild], 5) < 5 and shell.wait(timeout=5) == 0  # its `wait` returned: child gone
    finally:
        shell.kill()
        shell.wait()
