"""Report files of a run: result.json (versioned schema), results.csv, summary.md, pareto.png, latency.png.

One module per job: schema (result.json writer and versioned reader), csvfile, markdown, pareto_png,
latency_png, tables (terminal), with common (shared cells) and plotkit (shared drawing) beside them.
Importing the package is cheap: matplotlib and rich are imported inside the functions that draw.
Writers take results already evaluated by archbench.pareto.evaluate (verdicts, feasibility and front
membership set) and never change them. Every file is written atomically, so an interrupted run never
leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbench.config import HardwareProfile
from archbench.report.common import budget_line
from archbench.report.csvfile import CSV_COLUMNS, RESULTS_CSV, write_csv
from archbench.report.latency_png import LATENCY_PNG, write_latency_png
from archbench.report.markdown import SUMMARY_MD, summary_markdown, write_summary_md
from archbench.report.pareto_png import PARETO_PNG, write_pareto_png
from archbench.report.schema import (
    RESULT_JSON,
    atomic_write_json,
    atomic_write_text,
    json_safe,
    read_result_json,
    write_result_json,
)
from archbench.report.tables import plain_front_lines, render_front_table
from archbench.result import Result

__all__ = [
    "CSV_COLUMNS", "LATENCY_PNG", "PARETO_PNG", "RESULTS_CSV", "RESULT_JSON", "SUMMARY_MD", "atomic_write_json",
    "atomic_write_text", "budget_line", "json_safe", "plain_front_lines", "read_result_json", "render_front_table",
    "summary_markdown", "write_all", "write_csv", "write_latency_png", "write_pareto_png", "write_result_json",
    "write_summary_md",
]  # fmt: skip


def write_all(
    run_dir: str | Path,
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    run_info: dict[str, Any],
    complete: bool,
    figures: bool = True,
) -> dict[str, Path]:
    """Write every report file; returns {"json", "csv", "png", "latency_png", "summary"} -> path.

    figures=False leaves the PNGs out (a search trial's one-candidate run: its search draws the front).

    The data files go first, so nothing measured is lost if drawing fails; a figure that fails is left
    out of the returned paths, and the failure is recorded as a note in result.json's run info and in
    summary.md.
    """
    run_dir = Path(run_dir)
    results = list(results)
    paths = {
        "json": write_result_json(run_dir, results, profiles, environment, run_info, complete),
        "csv": write_csv(run_dir, results, profiles),
    }
    notes: list[str] = []
    # Looked up on the package at call time, so a caller (or a test) can replace one drawing function.
    drawings = {"png": (PARETO_PNG, "write_pareto_png"), "latency_png": (LATENCY_PNG, "write_latency_png")}
    for key, (name, draw) in (drawings if figures else {}).items():
        try:
            paths[key] = globals()[draw](run_dir, results, profiles)
        except Exception as exc:  # a plot is a convenience; the measurements must still be written
            notes.append(f"{name} could not be drawn: {type(exc).__name__}: {exc}")
            with contextlib.suppress(OSError):
                (run_dir / name).unlink()  # a stale plot from an earlier write would mislead
    if notes:
        info = {**run_info, "report_notes": [*run_info.get("report_notes", []), *notes]}
        paths["json"] = write_result_json(run_dir, results, profiles, environment, info, complete)
    drawn = [name for key, (name, _) in drawings.items() if key in paths]
    paths["summary"] = write_summary_md(run_dir, results, profiles, environment, complete=complete, notes=notes,
                                        figures=drawn, y_true=run_info.get("test_labels"))  # fmt: skip
    return paths
