"""The run directory (results/<run-id>/): where a sweep's results live, owned under a lock.

It keeps what earlier sweeps of this machine finished there (resume), merges what another sweep
writes at the same time (read-merge-write under a file lock), and rewrites result.json atomically
after every result so an interrupt loses nothing; the final write adds the CSV, Markdown and plots.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path
from typing import Any

from archbench.config import NAME_PATTERN, HardwareProfile
from archbench.errors import ConfigError
from archbench.result import Result


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def safe_run_dir(out_root: Path, run_id: str) -> Path:
    """results/<run-id>: the id may not climb out of the results directory."""
    if not re.fullmatch(NAME_PATTERN, run_id) or run_id in {".", ".."}:
        raise ConfigError("--run-id", "run_id", f"{run_id!r} must be letters, digits, '_', '-', '.' (max 64)")
    run_dir = (out_root / run_id).resolve()
    if out_root.resolve() not in run_dir.parents:
        raise ConfigError("--run-id", "run_id", "must stay inside the results directory")
    return run_dir


class RunDirectory:
    def __init__(self, path: Path, machine: str, profiles: dict[str, HardwareProfile], environment: dict[str, Any],
                 run_info: dict[str, Any], figures: bool = True) -> None:  # fmt: skip
        self.path, self.machine, self.profiles, self.figures = path, machine, profiles, figures
        self.environment, self.run_info = environment, run_info
        path.mkdir(parents=True, exist_ok=True)

    def finished(self, wanted: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], Result]:
        """Results already here that this sweep would produce again unchanged (same spec key)."""
        return {r.key: r for r in self._ours_on_disk()[0]
                if r.status == "ok" and r.meta.get("spec_key") == wanted.get(r.key)}  # fmt: skip

    def write(self, results: dict[tuple[str, str, str], Result], complete: bool, final: bool) -> dict[str, Path]:
        from archbench.cache import file_lock

        # Another sweep may write this run directory at the same time: read-merge-write under a lock.
        with file_lock(self.path / ".result.lock"):
            return self._write_merged(results, complete, final)

    def _ours_on_disk(self) -> tuple[list[Result], dict[str, Any]]:
        """Results in result.json measured on this machine (none when absent, unreadable or foreign)."""
        from archbench.report import read_result_json

        try:
            meta, on_disk = read_result_json(self.path / "result.json")
        except ConfigError:
            return [], {}
        if meta.get("run", {}).get("machine") != self.machine:
            return [], {}  # measured elsewhere: never mix two machines' figures in one run
        return on_disk, meta

    def _write_merged(self, results: dict[tuple[str, str, str], Result], complete: bool,
                      final: bool) -> dict[str, Path]:  # fmt: skip
        from archbench import report
        from archbench.pareto import evaluate

        on_disk, meta = self._ours_on_disk()
        profiles = dict(self.profiles)
        for name, raw in (meta.get("profiles") or {}).items():  # a run directory accumulates; none is dropped
            if name not in profiles:
                with contextlib.suppress(ValueError):  # pydantic's ValidationError is a ValueError
                    profiles[name] = HardwareProfile.model_validate(raw)
        others = [r for r in on_disk if r.key not in results and r.profile in profiles]
        # with the test labels, accuracy on the front is compared by a paired test
        judged = evaluate([*results.values(), *others], profiles, self.run_info.get("test_labels"))
        run_info = {**self.run_info, "complete": complete,
                    "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds") if final else None}
        if not final:
            report.write_result_json(self.path, judged, profiles, self.environment, run_info, complete)
            return {}
        return report.write_all(self.path, judged, profiles, self.environment, run_info, complete, self.figures)
