"""Exact peak memory from the kernel's high-water mark, and the address-space limit for children."""

from __future__ import annotations

import resource
from pathlib import Path

MB = 1024 * 1024


def read_status_kb(field: str) -> int | None:
    """A 'VmHWM:  1234 kB' style field of /proc/self/status, in kB (None off Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (write 5 to clear_refs). False where the kernel refuses."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def rss_mb() -> float | None:
    kb = read_status_kb("VmRSS")
    return kb / 1024 if kb is not None else None


def peak_rss_mb() -> float | None:
    kb = read_status_kb("VmHWM")
    return kb / 1024 if kb is not None else None


def limit_address_space(headroom_mb: float) -> int | None:
    """Cap this process's address space at its current size plus headroom; allocations beyond fail.

    Set after imports so that library start-up is not counted; a runaway allocation then raises
    MemoryError (or the runtime's own allocation error) instead of taking the machine down.
    """
    vm_kb = read_status_kb("VmSize")
    if vm_kb is None:
        return None
    limit = int(vm_kb * 1024 + headroom_mb * MB)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def looks_like_oom(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("out of memory", "can't allocate memory", "not enough memory", "bad_alloc",
                                   "failed to allocate", "cannot allocate memory"))  # fmt: skip
