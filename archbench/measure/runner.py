"""Parent side of the child-process runner: spawn, watch, time out, reap, and explain failures."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
JOB_DIR_PREFIX = "archbench-job-"
PARENT_PID_ENV = "ARCHBENCH_PARENT_PID"  # tells the worker whose death must take it down (die_with_parent)


@dataclass
class ChildOutcome:
    payload: dict[str, Any] | None  # what the child wrote, when it got that far
    error: str | None  # why there is no usable payload
    max_rss_mb: float | None  # whole child's peak RSS, from wait4's rusage
    wall_s: float


def child_env(threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    if threads:
        for var in THREAD_ENV:  # set before the child imports its runtime: they read these once
            env[var] = str(threads)
    env.setdefault("PYTHONHASHSEED", "0")
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["HF_HUB_OFFLINE"] = "1"
    env["TRANSFORMERS_OFFLINE"] = "1"
    env[PARENT_PID_ENV] = str(os.getpid())
    return env


def die_with_parent(job_dir: Path | None = None) -> None:
    """Child side: if the sweep dies, even by SIGKILL, take this worker's whole process group down too.

    Without it a worker (in its own session, so no terminal signal reaches it) would keep running a hung
    candidate, and the grandchildren it spawned, long after the sweep is gone. Linux's PR_SET_PDEATHSIG
    sends SIGTERM when the parent dies; the handler SIGKILLs the group. A no-op off Linux, or when the
    process was not started by run_child (it must lead its own group, or the handler would kill others).
    job_dir, the parent's temporary directory for this job, is removed first: the dead parent cannot.
    """
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent or not sys.platform.startswith("linux") or os.getpgrp() != os.getpid():
        return
    import ctypes

    try:
        if ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0) != 0:  # 1 = PR_SET_PDEATHSIG
            return
    except (OSError, AttributeError):
        return

    def die(*_: Any) -> None:
        if job_dir is not None and job_dir.name.startswith(JOB_DIR_PREFIX):
            shutil.rmtree(job_dir, ignore_errors=True)
        os.killpg(os.getpgrp(), signal.SIGKILL)

    signal.signal(signal.SIGTERM, die)
    if str(os.getppid()) != parent:  # the parent died before prctl took effect: no signal will come
        die()


def run_child(kind: str, job: dict[str, Any], timeout_s: float, threads: int | None = None) -> ChildOutcome:
    """Run one job in a fresh interpreter in its own session; kill its whole group on timeout."""
    with tempfile.TemporaryDirectory(prefix=JOB_DIR_PREFIX) as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job))
        stderr_path = Path(tmp) / "stderr.txt"
        start = time.perf_counter()
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "archbench.measure.worker", kind, str(job_path), str(out_path)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=child_env(threads), start_new_session=True,
            )  # fmt: skip
            try:
                status, rusage, timed_out = _wait(proc, timeout_s)
            except BaseException:  # KeyboardInterrupt, or the parent being torn down: leave no orphan
                _kill_group(proc)
                raise
        wall = time.perf_counter() - start
        max_rss = rusage.ru_maxrss / 1024 if rusage else None
        stderr_tail = _tail(stderr_path)
        payload = json.loads(out_path.read_text()) if out_path.exists() else None
        error = _explain(status, timed_out, timeout_s, payload, stderr_tail)
        return ChildOutcome(payload if error is None else None, error, max_rss, wall)


def _wait(proc: subprocess.Popen, timeout_s: float) -> tuple[int, Any, bool]:
    """Reap with wait4 (to get the child's rusage); poll so a timeout can kill the group."""
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            _kill_group(proc)  # grandchildren the candidate may have left behind
            return status, rusage, False
        if time.monotonic() > deadline:
            # Kill without _kill_group: it would reap the child, and this wait4 needs to (for rusage).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ChildProcessError):
            os.wait4(proc.pid, 0)
        proc.returncode = -9


def _explain(status: int, timed_out: bool, timeout_s: float, payload: dict | None, stderr_tail: str) -> str | None:
    if timed_out:
        return f"timed out after {timeout_s:g} s"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        hint = " (likely the kernel's out-of-memory killer)" if sig == signal.SIGKILL else ""
        return f"crashed: child killed by {name}{hint}" + (f"; stderr: {stderr_tail}" if stderr_tail else "")
    if payload is None:
        code = os.waitstatus_to_exitcode(status)
        return f"child exited with code {code} and no result" + (f"; stderr: {stderr_tail}" if stderr_tail else "")
    if not payload.get("ok"):
        return str(payload.get("error") or "unknown error")
    return None


def _tail(path: Path, limit: int = 300) -> str:
    try:
        text = path.read_bytes()[-4000:].decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[-2:])[-limit:]
