"""Content-addressed cache of builds (weights, exports) and measurements.

A key is the hash of everything that changes the result, so an unchanged sweep rebuilds and
re-measures nothing, and changing one thing invalidates exactly what depends on it. Entries are
written atomically; a build directory counts only once its build.json exists, so an interrupted
build is simply redone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from archbench import atomic


def content_key(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    env = os.environ.get("ARCHBENCH_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archbench"


class Cache:
    def __init__(self, root: Path | None = None, enabled: bool = True, reuse_measurements: bool = True) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.enabled = enabled  # False (--fresh): nothing is read; fresh results are still written
        self.reuse_measurements = reuse_measurements  # False: rebuild nothing, re-measure everything

    # builds ------------------------------------------------------------------------------------
    def build_dir(self, key: str) -> Path:
        return self.root / "builds" / key

    def get_build(self, key: str) -> dict[str, Any] | None:
        return self._read(self.build_dir(key) / "build.json") if self.enabled else None

    def new_build_dir(self, key: str) -> Path:
        """A clean directory for a build in progress (a stale half-build is removed first)."""
        path = self.build_dir(key)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def put_build(self, key: str, build: dict[str, Any]) -> None:
        atomic_json(self.build_dir(key) / "build.json", build)

    def build_lock(self, key: str) -> contextlib.AbstractContextManager[None]:
        """Held while checking for, then making, one build: two sweeps never build into the same dir."""
        return file_lock(self.root / "locks" / f"build-{key}.lock")

    # measurements ------------------------------------------------------------------------------
    def _measure_path(self, key: str) -> Path:
        return self.root / "measure" / key[:2] / f"{key}.json"

    def get_measurement(self, key: str) -> dict[str, Any] | None:
        return self._read(self._measure_path(key)) if self.enabled and self.reuse_measurements else None

    def put_measurement(self, key: str, data: dict[str, Any]) -> None:
        atomic_json(self._measure_path(key), data)

    # host interference floors -----------------------------------------------------------------
    FLOOR_MAX_AGE_S = 7 * 24 * 3600  # a machine reconfigured (power profile, new host) gets a fresh floor

    def _floors_path(self, machine: str) -> Path:
        from archbench.measure.interference import KERNEL_VERSION

        return self.root / "interference" / f"{machine}-k{KERNEL_VERSION}.json"

    def get_reference_floors(self, machine: str) -> dict[tuple[int, ...], float]:
        """The quietest reference speed (µs) per core set this machine reached in recent sweeps.

        A sweep of a few candidates takes seconds: if all of them ran on a slowed core, its own floor
        would be slow too and nothing would look disturbed. Earlier sweeps on the same machine fix that.
        """
        return {k: us for k, (us, _) in self._recent_floors(machine).items()} if self.enabled else {}

    def put_reference_floors(self, machine: str, floors: dict[tuple[int, ...], float]) -> None:
        import time

        entries = self._recent_floors(machine)
        for key, us in floors.items():
            if key not in entries or us < entries[key][0]:
                entries[key] = (us, time.time())
        rows = [{"cores": list(k), "us": us, "at": at} for k, (us, at) in entries.items()]
        atomic_json(self._floors_path(machine), {"floors": rows})

    def _recent_floors(self, machine: str) -> dict[tuple[int, ...], tuple[float, float]]:
        import time

        out: dict[tuple[int, ...], tuple[float, float]] = {}
        for entry in (self._read(self._floors_path(machine)) or {}).get("floors", []):
            try:
                us, at, key = float(entry["us"]), float(entry["at"]), tuple(int(c) for c in entry["cores"])
            except (KeyError, TypeError, ValueError):
                continue  # a damaged entry is a miss
            if us > 0 and time.time() - at <= self.FLOOR_MAX_AGE_S:
                out[key] = (us, at)
        return out

    def data_path(self, fingerprint: str) -> Path:
        return self.root / "data" / f"{fingerprint}.npz"

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None  # missing or torn entry: a miss, recomputed


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (flock); the kernel drops it if the holder dies."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a planted symlink must not make us create a file outside the directory.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:  # e.g. a planted symlink (ELOOP) or a read-only directory
        from archbench.errors import ConfigError

        raise ConfigError(path, "<lock>", f"cannot open lock file: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


def atomic_json(path: Path, data: Any) -> None:
    atomic.write_text(path, json.dumps(data, default=str))
