"""Interrupts and concurrency through the real CLI.

Ctrl-C (SIGINT) or SIGKILL of `archbench sweep` while a measurement is running: every result finished
before the signal is in a valid result.json, no process or job directory of ours is left, and rerunning
the same --run-id measures only what is missing. Two sweeps into one run directory at once both finish,
and result.json holds both sweeps' results, valid at every moment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import write
from tests.faultkit import (
    PROMPT_S,
    TAG_VAR,
    busy_cores,
    job_dirs,
    new_tag,
    pid_alive,
    pids_in,
    tagged_processes,
    wait_dead,
    wait_until_gone,
    write_fault_package,
)

pytestmark = pytest.mark.slow

PROFILE = """
name: tiny
device: cpu
threads: 1
measure: {max_seconds: 0.2, min_samples: 20, max_samples: 200, warmup: 2, timeout_s: 120}
"""


def candidates(*names: str, slow: str = "", daemon: Path | None = None) -> str:
    """Import-string candidates (no training: fast builds); the one named `slow` sleeps while measured and,
    given a daemon pidfile, starts a daemon grandchild (setsid + double fork) whenever its model is made."""

    def kwargs(n: str) -> str:
        extra = f', daemon: "{daemon}"' if daemon and n == slow else ""
        return f"{{slow: {'true' if n == slow else 'false'}, label: {n}{extra}}}"

    lines = [f'  - {{name: {n}, kind: import, target: "faultmodels.nets:slow", trained: true, variants: [torch],'
             f" kwargs: {kwargs(n)}}}" for n in names]  # fmt: skip
    return "candidates:\n" + "\n".join(lines) + "\n"


class Env:
    """Files and environment shared by the sweeps of one test; every process it starts carries the tag."""

    def __init__(self, root: Path) -> None:
        self.root, self.tag = root, new_tag()
        self.tmp = root / "tmp"
        self.tmp.mkdir()
        self.cache, self.out = root / "cache", root / "results"
        write_fault_package(root / "pkg")
        self.profile = write(root / "tiny.yaml", PROFILE)
        self.env = {**os.environ, "PYTHONPATH": str(root / "pkg"), "ARCHBENCH_CACHE": str(self.cache),
                    "TMPDIR": str(self.tmp), TAG_VAR: self.tag,
                    "ARCHBENCH_TEST_CALLS": str(root / "calls.txt")}  # fmt: skip
        self.env.pop("ARCHBENCH_TEST_SLOW", None)

    def start(self, cands: Path, run_id: str, name: str, **extra_env: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - closed when the process is reaped
        proc = subprocess.Popen(
            [sys.executable, "-m", "archbench", "sweep", "-c", str(cands), "-p", str(self.profile),
             "--out", str(self.out), "--run-id", run_id],
            stdout=log, stderr=subprocess.STDOUT, env={**self.env, **extra_env}, preexec_fn=_default_sigint,
        )  # fmt: skip
        proc.log = log  # type: ignore[attr-defined]
        return proc

    def finish(self, proc: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
        try:
            code = proc.wait(timeout=timeout)
        finally:
            proc.log.close()  # type: ignore[attr-defined]
        return code, Path(proc.log.name).read_text()  # type: ignore[attr-defined]

    def calls(self) -> list[str]:
        """Every child that made a candidate's model, in order: "build <name>" or "measure <name>"."""
        path = self.root / "calls.txt"
        return path.read_text().splitlines() if path.exists() else []

    def cache_state(self) -> dict[str, tuple[int, int]]:
        """Identity of every cached measurement and build: a rewrite changes inode and mtime."""
        files = [*self.cache.glob("measure/*/*.json"), *self.cache.glob("builds/*/build.json")]
        return {str(p.relative_to(self.cache)): (p.stat().st_ino, p.stat().st_mtime_ns) for p in files}


def _default_sigint() -> None:
    """In the sweep before exec: a test runner started in the background (nohup, `cmd &` in a script) has
    SIGINT ignored, which exec passes on, so the sweep would never see the test's Ctrl-C."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_results(path: Path) -> dict[tuple[str, str], dict]:
    data = json.loads(path.read_text())  # must always parse: writes are atomic
    return {(r["candidate"], r["variant"]): r for r in data["results"]}


def measuring_job(env: Env) -> list[int]:
    """The measuring job's processes: the guard run_child started and the worker it forked (same command)."""
    found = []
    for proc in tagged_processes(env.tag):
        try:
            cmd = proc.cmdline()
        except Exception:
            continue
        if "archbench.measure.worker" in cmd and "measure" in cmd:
            found.append(proc.pid)
    return found


def wait_for(condition, timeout: float = 180, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["sigint", "sigterm", "sigkill"])
def test_interrupt_keeps_finished_results_and_resume_measures_only_the_rest(tmp_path, sig):
    env = Env(tmp_path)
    daemons = tmp_path / "daemons.txt"
    cands = write(tmp_path / "c.yaml", candidates("first", "second", "third", slow="second", daemon=daemons))
    result_json = env.out / "r" / "result.json"

    proc = env.start(cands, "r", "first-run", ARCHBENCH_TEST_SLOW="30")
    try:
        wait_for(lambda: result_json.exists() and read_results(result_json), what="the first result")
        wait_for(lambda: "measure second" in env.calls(), what="the second measurement to load its model")
        in_flight = wait_for(lambda: measuring_job(env), what="the measuring worker")
        before = read_results(result_json)
        with busy_cores():  # the signal lands on a machine with no idle core, as on a loaded CI runner
            os.kill(proc.pid, sig)
            code, log = env.finish(proc, timeout=180)  # after Ctrl-C it still writes the reports: slow under load
            took = wait_dead([*in_flight, *pids_in(daemons)])
    finally:
        if proc.poll() is None:
            proc.kill()
    graceful = sig in (signal.SIGINT, signal.SIGTERM)  # SIGTERM (a CI cancel) finishes like Ctrl-C
    assert code == (130 if graceful else -signal.SIGKILL), log[-2000:]
    if graceful:
        assert "interrupted" in log and "Traceback" not in log, log[-2000:]

    # Nothing of ours survives, and it is gone at once: not the measuring worker (its parent is gone), not the
    # daemons its candidate started (setsid: outside the worker's group and session), not its job directory.
    assert took < PROMPT_S, f"the measuring job outlived the sweep by {took:.2f} s"
    assert wait_until_gone(env.tag, timeout_s=10) == []
    assert not any(pid_alive(p) for p in in_flight)
    assert len(pids_in(daemons)) == 2 and not any(pid_alive(p) for p in pids_in(daemons))  # build + measure
    assert job_dirs(env.tmp) == []

    after = read_results(result_json)
    data = json.loads(result_json.read_text())
    assert data["run"]["complete"] is False
    assert set(after) == set(before) == {("first", "torch")}  # the finished one, and nothing half-done
    assert after[("first", "torch")]["status"] == "ok"
    finished = {k for r in after.values() for k in r["meta"]["measure_keys"]}
    cached = {p.stem for p in env.cache.glob("measure/*/*.json")}
    assert cached <= finished, "a finished measurement is missing from result.json"

    state, launched = env.cache_state(), len(env.calls())
    assert env.calls()[-2:] == ["measure first", "measure second"]
    proc = env.start(cands, "r", "resume")
    code, log = env.finish(proc)
    assert code == 0, log[-3000:]
    final = read_results(result_json)
    assert json.loads(result_json.read_text())["run"]["complete"] is True
    assert {k: r["status"] for k, r in final.items()} == {(n, "torch"): "ok" for n in ("first", "second", "third")}
    # Only what was missing was measured: earlier cache entries untouched, exactly two new ones, no rebuild.
    new_state = env.cache_state()
    assert {k: new_state[k] for k in state} == state
    assert len([k for k in new_state if k.startswith("measure/")]) == len(cached) + 2
    assert len([k for k in new_state if k.startswith("builds/")]) == len([k for k in state if k.startswith("builds/")])
    # The children this rerun started: the two missing ones (again, if one ran on a slowed core).
    assert sorted(set(env.calls()[launched:])) == ["measure second", "measure third"]
    assert final[("first", "torch")]["latency_samples_ms"] == after[("first", "torch")]["latency_samples_ms"]
    assert wait_until_gone(env.tag) == [] and job_dirs(env.tmp) == []


def test_two_sweeps_into_one_run_directory(tmp_path):
    env = Env(tmp_path)
    a = write(tmp_path / "a.yaml", candidates("shared", "only-a"))
    b = write(tmp_path / "b.yaml", candidates("shared", "only-b"))
    run_dir = env.out / "both"
    procs = [env.start(a, "both", "sweep-a"), env.start(b, "both", "sweep-b")]
    reads = 0
    try:
        while any(p.poll() is None for p in procs):  # every read in between must parse
            if (run_dir / "result.json").exists():
                read_results(run_dir / "result.json")
                reads += 1
            time.sleep(0.05)
        outcomes = [env.finish(p) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for code, log in outcomes:
        assert code == 0, log[-3000:]
    final = read_results(run_dir / "result.json")
    assert {k: r["status"] for k, r in final.items()} == {(n, "torch"): "ok" for n in ("shared", "only-a", "only-b")}
    assert reads > 0
    assert not list(run_dir.glob(".*.tmp")), "a temporary file of an atomic write was left behind"
    rows = (run_dir / "results.csv").read_text().splitlines()
    assert len(rows) == 1 + 3
    builds = [c for c in env.calls() if c.startswith("build")]
    assert sorted(builds) == ["build only-a", "build only-b", "build shared"]  # the build lock: `shared` once
    assert wait_until_gone(env.tag) == [] and job_dirs(env.tmp) == []
