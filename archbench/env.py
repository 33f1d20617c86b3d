"""The machine a measurement ran on: CPU, cores, memory, OS, library versions, threads, GPUs.

Recorded in every result file so that results from different machines can be told apart and compared
honestly (pyperf does the same). Cheap and pure-ish: never imports torch, onnxruntime, transformers,
optuna or matplotlib; library versions come from installed package metadata. Nothing here raises on
an odd machine: a field that cannot be read is None.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from importlib import metadata
from typing import Any

import archbench

# Distribution names as pip knows them (scikit-learn, not sklearn).
LIBRARIES = (
    "archbench",
    "torch",
    "onnxruntime",
    "onnx",
    "numpy",
    "transformers",
    "tokenizers",
    "optuna",
    "scikit-learn",
    "pydantic",
)
# Always recorded (None when unset): the ones that change how many threads a runtime uses.
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# Other variables that change threading or placement, recorded only when set.
_EXTRA_THREAD_VARS = (
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_MAX_THREADS",
    "KMP_AFFINITY",
    "KMP_BLOCKTIME",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "OMP_WAIT_POLICY",
    "GOMP_CPU_AFFINITY",
    "CUDA_VISIBLE_DEVICES",
)
NVIDIA_SMI_TIMEOUT_S = 5.0


def library_versions() -> dict[str, str | None]:
    """Installed version of each library archbench may use; None when it is not installed."""
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        if name == "archbench":
            # The imported package is what ran, even from a source checkout with no (or stale) metadata.
            out[name] = archbench.__version__
            continue
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
        except Exception:  # broken metadata must not stop a sweep
            out[name] = None
    return out


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo, else what platform knows, else the architecture."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                # x86 says "model name"; some ARM kernels only say "Hardware" or "Processor".
                if sep and key.strip() in ("model name", "Hardware", "Processor") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cores() -> list[int] | None:
    """Core ids this process may run on (its affinity mask); None where the OS does not say."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return None


def total_memory_mb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 2**20, 1)
    except Exception:
        return None


def cpu_freq_mhz() -> dict[str, float | None] | None:
    """Current, min and max CPU frequency; None in containers and VMs that hide it."""
    try:
        import psutil

        freq = psutil.cpu_freq()
    except Exception:
        return None
    if freq is None:
        return None
    # psutil reports 0.0 for min/max it could not read.
    return {k: (float(getattr(freq, k)) or None) for k in ("current", "min", "max")}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def thread_env() -> dict[str, str | None]:
    env = {name: os.environ.get(name) for name in THREAD_VARS}
    for name in sorted(os.environ):
        if name in env:
            continue
        if name.endswith("_NUM_THREADS") or name in _EXTRA_THREAD_VARS:
            env[name] = os.environ[name]
    return env


def gpu_names() -> list[str]:
    """GPU names from nvidia-smi, [] when there is none or it fails. Never raises, never hangs."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        proc = subprocess.run(
            [exe, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_S,
            check=False,
        )
    except Exception:
        return []
    if proc.returncode != 0:
        return []
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def collect_environment() -> dict[str, Any]:
    """Everything about this machine and process that can change a measurement. JSON-ready."""
    cores = usable_cores()
    env: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(cores) if cores is not None else None,
        "affinity": cores,
        "total_memory_mb": total_memory_mb(),
        "os": platform.platform(),
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "libraries": library_versions(),
        "thread_env": thread_env(),
        "cpu_freq_mhz": cpu_freq_mhz(),
        "load_average": load_average(),
        "cuda_device_nodes": os.path.exists("/dev/nvidia0"),
        "gpus": gpu_names(),
    }
    env["fingerprint"] = machine_fingerprint(env)
    return env


def machine_fingerprint(env: dict[str, Any] | None = None) -> str:
    """16 hex chars naming the hardware; two results with different fingerprints are not comparable.

    Only fields that are stable on one machine go in: not the hostname (containers change it), not the
    load or frequency, and memory rounded to whole GiB (the kernel's reserve moves a few MB per boot).
    """
    if env is None:
        cores = os.cpu_count()
        env = {
            "cpu_model": cpu_model(),
            "logical_cores": cores,
            "total_memory_mb": total_memory_mb(),
            "machine": platform.machine(),
            "gpus": gpu_names(),
        }
    mem_mb = env.get("total_memory_mb")
    key = {
        "cpu_model": env.get("cpu_model"),
        "logical_cores": env.get("logical_cores"),
        "memory_gib": round(mem_mb / 1024) if isinstance(mem_mb, (int, float)) else None,
        "machine": env.get("machine"),
        "gpus": sorted(env.get("gpus") or []),
    }
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def sample_machine_state() -> dict[str, float | None]:
    """Cheap snapshot taken at the start of every measurement: a throttled CPU or a busy machine shows."""
    freq = cpu_freq_mhz()
    load = load_average()
    return {
        "cpu_freq_mhz": freq.get("current") if freq else None,
        "load_avg_1m": load[0] if load else None,
    }
