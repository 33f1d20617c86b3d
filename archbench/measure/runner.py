"""Parent side of the child-process runner: spawn, watch, time out, reap, and explain failures.

How every process of a job dies with the sweep (Linux), and why this design::

    sweep ─> guard: the process run_child starts (own session); tiny, runs no candidate code
               └─> worker: forked by the guard in die_with_parent; imports and runs the candidate
                     └─> whatever the candidate starts, at any depth, in any session or group

* The worker's parent-death signal (PR_SET_PDEATHSIG) is SIGKILL, bound to the guard: whenever the
  guard dies, the kernel kills the worker at once. SIGKILL cannot be caught, blocked or deferred by
  whatever native code the worker is in. (A SIGTERM with a Python handler, the earlier design, runs
  only when the interpreter gets back to bytecode; under load a worker outlived its sweep by > 10 s.)
* The guard is a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant orphaned by its parent's exit,
  e.g. a daemon that forked, called setsid() and forked again, is re-parented to the guard, not to
  init. So every process the job started stays below the guard and is found by walking /proc parent
  links, whatever its session or process group; a group kill (killpg) misses a setsid() grandchild.
* The guard learns of the sweep's death from its own parent-death signal, SIGTERM, which it keeps
  blocked and takes with sigtimedwait (no handler; it runs nothing else, so nothing defers it; it
  also checks getppid() every second). It then SIGKILLs the whole subtree, removes the job directory
  the dead sweep cannot, and exits.
* When the worker exits, the guard kills what it left behind and exits the same way (exit code or
  signal), so run_child's view is unchanged: wait4 on the guard reports the worker's fate, and its
  ru_maxrss covers the reaped worker. On timeout or interrupt run_child walks and kills the tree itself.

Why not the alternatives: the parent-death signal is not inherited across fork, so setting it in every
descendant needs the cooperation of code we do not control (a candidate's subprocess, a native
library's helper). A cgroup (cgroup.kill) catches everything, but needs root or a delegated cgroup v2
subtree, which a non-root user usually does not have. The subreaper and the /proc walk work the same
as root and as non-root on any Linux >= 3.4. Limits: if someone SIGKILLs the guard itself, the worker
still dies (its parent-death signal), but its own children are orphaned to init; a process stuck in
uninterruptible sleep dies only when the kernel lets it. Off Linux none of this exists: run_child
kills the group, and a SIGKILLed sweep leaves its worker running.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
JOB_DIR_PREFIX = "archbench-job-"
PARENT_PID_ENV = "ARCHBENCH_PARENT_PID"  # tells the guard whose death must take the job down (die_with_parent)
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36  # <linux/prctl.h>
GUARD_SIGNALS = {signal.SIGTERM, signal.SIGCHLD}
PARENT_GONE_WAIT_S = 10.0  # how long a guard told to stop waits to see whether its parent is dying
KILL_TREE_TIMEOUT_S = 5.0  # a process in uninterruptible sleep may not die at once; do not wait forever


@dataclass
class ChildOutcome:
    payload: dict[str, Any] | None  # what the child wrote, when it got that far
    error: str | None  # why there is no usable payload
    max_rss_mb: float | None  # whole child's peak RSS, from wait4's rusage
    wall_s: float


def _prctl(option: int, value: int) -> bool:
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


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
    """Child side, called first thing in the worker: split into a guard and the worker (module docstring).

    Returns in the worker, which then runs the job and dies with the guard; the guard never returns.
    job_dir, the parent's temporary directory for this job, is removed if the sweep dies: it cannot.
    A no-op off Linux, or when the process was not started by run_child (it must lead its own group).
    """
    parent = os.environ.get(PARENT_PID_ENV)
    if not parent or not sys.platform.startswith("linux") or os.getpgrp() != os.getpid():
        return
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, GUARD_SIGNALS)  # taken with sigtimedwait, never handled
    if not (_prctl(PR_SET_PDEATHSIG, signal.SIGTERM) and _prctl(PR_SET_CHILD_SUBREAPER, 1)):
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return  # a kernel without them: run_child's group kill is all there is
    if os.getppid() != int(parent):  # the sweep died before prctl took effect: no signal will come
        _guard_exit(None, job_dir, int(parent))
    guard = os.getpid()
    worker = os.fork()
    if worker == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if not _prctl(PR_SET_PDEATHSIG, signal.SIGKILL) or os.getppid() != guard:
            os.kill(os.getpid(), signal.SIGKILL)  # no guard to die with (or it is gone already): do not run
        return
    _guard_exit(_supervise(worker, int(parent)), job_dir, int(parent))


def _supervise(worker: int, parent: int) -> int | None:
    """The guard's loop: the worker's wait status once it exits; None when the sweep died (or sent SIGTERM)."""
    while True:
        info = signal.sigtimedwait(GUARD_SIGNALS, 1.0)
        if (info is not None and info.si_signo == signal.SIGTERM) or os.getppid() != parent:
            return None
        status = _reap(worker)
        if status is not None:
            return status


def _guard_exit(status: int | None, job_dir: Path | None, parent: int) -> NoReturn:
    """Kill everything below the guard, then leave the way the worker did; status None: told to stop."""
    kill_tree(os.getpid())
    if status is None:
        # The signal comes when the thread that started us exits: a SIGKILLed sweep's other threads may
        # still be dying, and until they are we are still its child. Wait for that (the job is dead already).
        deadline = time.monotonic() + PARENT_GONE_WAIT_S
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.01)
        if job_dir is not None and job_dir.name.startswith(JOB_DIR_PREFIX) and os.getppid() != parent:
            shutil.rmtree(job_dir, ignore_errors=True)  # the sweep is gone and cannot; a live one does it itself
        os._exit(128 + signal.SIGTERM)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):  # the worker's crash is reported, not a core dump of ours
            resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
        with contextlib.suppress(OSError, ValueError):
            signal.signal(sig, signal.SIG_DFL)  # raises for SIGKILL, which needs no reset
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _reap(worker: int) -> int | None:
    """Reap every exited child (the guard adopts orphans); the worker's wait status if it was among them."""
    status = None
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == worker:
            status = st


def descendants(root: int) -> list[int]:
    """Live (non-zombie) processes below root, from /proc parent links: any session, any process group."""
    children: dict[int, list[tuple[int, bytes]]] = {}
    try:
        entries = [e.name for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return []  # no /proc (not Linux)
    for name in entries:
        try:
            stat = Path("/proc", name, "stat").read_bytes()
        except OSError:
            continue  # exited while we looked
        state, ppid = stat.rsplit(b")", 1)[1].split()[:2]  # after "pid (comm)"; comm may hold ")"
        children.setdefault(int(ppid), []).append((int(name), state))
    found, todo = [], [root]
    while todo:
        for pid, state in children.get(todo.pop(), []):
            todo.append(pid)
            if state != b"Z":
                found.append(pid)
    return found


def kill_tree(root: int, timeout_s: float = KILL_TREE_TIMEOUT_S) -> list[int]:
    """SIGKILL every live descendant of root, again and again until none is left; the survivors after timeout_s.

    Repeated because a process may fork between the walk and the kill; its orphaned child is then
    re-parented to the guard (a subreaper) and found by the next walk. root itself is not killed.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        live = descendants(root)
        if not live:
            return []
        for pid in live:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if root == os.getpid():
            _reap(-1)
        if time.monotonic() > deadline:
            return live
        time.sleep(0.002)


def run_child(kind: str | None, job: dict[str, Any], timeout_s: float, threads: int | None = None,
              module: str = "archbench.measure.worker") -> ChildOutcome:  # fmt: skip
    """Run one job (`python -m MODULE [KIND] JOB OUT`) in a fresh interpreter in its own session; kill
    everything it started on timeout. The module must call die_with_parent first (as the worker does)."""
    with tempfile.TemporaryDirectory(prefix=JOB_DIR_PREFIX) as tmp:
        job_path, out_path = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_path.write_text(json.dumps(job))
        stderr_path = Path(tmp) / "stderr.txt"
        start = time.perf_counter()
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", module, *([kind] if kind else []), str(job_path), str(out_path)],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=child_env(threads), start_new_session=True,
            )  # fmt: skip
            try:
                status, rusage, timed_out = _wait(proc, timeout_s)
            except BaseException:  # KeyboardInterrupt, or the parent being torn down: leave no orphan
                _kill_job(proc.pid)
                with contextlib.suppress(ChildProcessError):
                    os.wait4(proc.pid, 0)
                proc.returncode = -9
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
            # The guard killed what the worker left; the group kill covers a worker that ran without one.
            # Not kill_tree: the reaped pid may already belong to an unrelated process.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            return status, rusage, False
        if time.monotonic() > deadline:
            _kill_job(proc.pid)  # kills but does not reap: this wait4 must, for the rusage
            _, status, rusage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def _kill_job(pid: int) -> None:
    """Everything a live, unreaped child started, setsid() or not: its subtree (while the guard still
    adopts orphans), then its process group, then the child itself."""
    kill_tree(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


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
