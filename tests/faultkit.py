"""Helpers for fault-injection tests: candidate packages that misbehave, and finding our stray processes.

Every process a test starts (sweep CLI, workers, the grandchildren a candidate spawns) inherits a
unique ARCHBENCH_TEST_TAG in its environment, so a leftover is found even after it was re-parented,
and other engineers' processes on the same machine are never mistaken for ours.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.conftest import write

TAG_VAR = "ARCHBENCH_TEST_TAG"

FAULTY_MODELS = """
    import os
    import resource
    import subprocess
    import sys
    import time

    import torch
    from torch import nn


    def good(width=8):
        return nn.Sequential(nn.Flatten(), nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 10))


    def aborts():
        os.abort()  # SIGABRT, like a segfaulting native extension


    def _must_fail(nbytes):
        # Safety net for the test machine: only allocate when the address-space limit makes it impossible.
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY or soft >= nbytes:
            raise RuntimeError(f"refusing to allocate {nbytes} bytes: address space limit is {soft}")


    def hog_factory(gb=20):
        _must_fail(gb * 2**30)
        torch.ones(gb * 2**30 // 4)  # ones, not empty: a runaway that would touch every page
        return good()


    class HogForward(nn.Module):
        def __init__(self, gb):
            super().__init__()
            self.lin, self.gb = nn.Linear(64, 10), gb

        def forward(self, x):
            _must_fail(self.gb * 2**30)
            torch.ones(self.gb * 2**30 // 4)
            return self.lin(x.flatten(1))


    def hog_forward(gb=20):
        return HogForward(gb)


    class Hang(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 10)

        def forward(self, x):
            time.sleep(3600)
            return self.lin(x.flatten(1))


    def hang_in_factory(pidfile):
        spawn_daemon(pidfile)
        time.sleep(3600)


    def hang(pidfile=None):
        if pidfile:  # a daemon grandchild that the timeout kill must take down too
            spawn_daemon(pidfile)
        return Hang()


    @torch.library.custom_op("faultmodels::twice", mutates_args=())
    def twice(x: torch.Tensor) -> torch.Tensor:
        return x * 2


    @twice.register_fake
    def _(x):
        return torch.empty_like(x)


    class NoExport(nn.Module):
        # Runs in eager PyTorch; neither ONNX exporter knows the custom op.
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(64, 10)

        def forward(self, x):
            return twice(self.lin(x.flatten(1)))


    def no_export():
        return NoExport()


    # A daemon: setsid() (own session and group: a group kill misses it), fork, and the middle process
    # exits, so the sleeper is an orphan (re-parented away from whoever started it). It writes its pid first.
    DAEMON = (
        "import os, sys, time\\n"
        "os.setsid()\\n"
        "pid = os.fork()\\n"
        "if pid:\\n"
        "    with open(sys.argv[1], 'a') as fh:\\n"
        "        fh.write(f'{pid}\\\\n')\\n"
        "    os._exit(0)\\n"
        "time.sleep(300)\\n"
    )


    def spawn_daemon(pidfile):
        subprocess.run([sys.executable, "-c", DAEMON, str(pidfile)], check=True)  # returns once the pid is written


    def spawns(pidfile, detach=False):
        if detach:
            spawn_daemon(pidfile)
            return good()
        child = subprocess.Popen(["sleep", "300"])  # left behind on purpose
        with open(pidfile, "a") as fh:
            fh.write(f"{child.pid}\\n")
        return good()


    class Slow(nn.Module):
        # Sleeps per call while ARCHBENCH_TEST_SLOW is set: keeps a measuring child busy on demand.
        def __init__(self, slow):
            super().__init__()
            self.lin, self.slow = nn.Linear(64, 10), slow

        def forward(self, x):
            delay = float(os.environ.get("ARCHBENCH_TEST_SLOW", "0"))
            if self.slow and delay and not self.training:
                time.sleep(delay)
            return self.lin(x.flatten(1))


    def slow(slow=False, label="", daemon=""):
        calls = os.environ.get("ARCHBENCH_TEST_CALLS")
        if daemon:  # first, so the daemon is up before the call below says the model is being made
            spawn_daemon(daemon)
        if calls:  # one line per child that builds or loads this model: "build first", "measure first"
            with open(calls, "a") as fh:
                fh.write(f"{sys.argv[1] if len(sys.argv) > 1 else '?'} {label}\\n")
        return Slow(slow)
"""


def write_fault_package(root: Path) -> Path:
    """faultmodels.nets in root (put root on PYTHONPATH); returns root."""
    write(root / "faultmodels" / "__init__.py", "")
    write(root / "faultmodels" / "nets.py", FAULTY_MODELS)
    return root


def new_tag() -> str:
    return uuid.uuid4().hex


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Live (non-zombie) processes other than this one whose environment carries the tag."""
    found = []
    for proc in psutil.process_iter(["pid", "status"]):
        if proc.info["pid"] == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if proc.environ().get(TAG_VAR) == tag:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found


def wait_until_gone(tag: str, timeout_s: float = 5.0) -> list[str]:
    """Descriptions of tagged processes still alive after timeout_s (SIGKILL delivery is asynchronous)."""
    deadline = time.monotonic() + timeout_s
    while True:
        alive = tagged_processes(tag)
        if not alive or time.monotonic() > deadline:
            return [_describe(p) for p in alive]
        time.sleep(0.05)


PROMPT_S = 3.0  # a job's processes must be gone this soon after its parent dies, even with every core busy


@contextlib.contextmanager
def busy_cores(n: int | None = None) -> Iterator[list[subprocess.Popen]]:
    """n busy-loop processes (default: one per core), always killed on the way out."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n or os.cpu_count() or 2)]
    try:
        yield loops
    finally:
        for p in loops:
            p.kill()
            p.wait()


def wait_dead(pids: list[int], timeout_s: float = 30.0) -> float:
    """Seconds until none of pids is alive (timeout_s if some still are)."""
    start = time.monotonic()
    while any(pid_alive(p) for p in pids) and time.monotonic() - start < timeout_s:
        time.sleep(0.005)
    return time.monotonic() - start


def pids_in(path: Path) -> list[int]:
    """The pids a fault candidate wrote to path, one a line (none if it never ran)."""
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def job_dirs(tmpdir: Path) -> list[str]:
    return sorted(p.name for p in tmpdir.glob("archbench-job-*"))


def _describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:120]}"
    except psutil.Error:
        return str(proc.pid)
