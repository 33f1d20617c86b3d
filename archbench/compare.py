"""Compare runs (across machines, or before/after a change): one table per profile, one overlaid plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbench.result import Result

Run = tuple[str, dict[str, Any], list[Result]]  # (label, meta, results)


def run_label(path: Path, meta: dict[str, Any]) -> str:
    run = meta.get("run", {})
    return str(run.get("run_id") or path.parent.name)


def machine_line(meta: dict[str, Any]) -> str:
    env = meta.get("environment", {})
    return f"{env.get('cpu_model', '?')}, {env.get('logical_cores', '?')} cores, " \
           f"machine {meta.get('run', {}).get('machine', '?')}"  # fmt: skip


def rows(runs: list[Run], profile: str) -> list[dict[str, Any]]:
    """One row per candidate/variant seen on this profile in any run; one cell group per run."""
    keys: list[tuple[str, str]] = []
    for _, _, results in runs:
        for r in results:
            if r.profile == profile and (r.candidate, r.variant) not in keys:
                keys.append((r.candidate, r.variant))
    out = []
    for cand, variant in keys:
        cells = []
        for _, _, results in runs:
            r = next((x for x in results if (x.candidate, x.variant, x.profile) == (cand, variant, profile)), None)
            cells.append(r)
        out.append({"candidate": cand, "variant": variant, "cells": cells})
    return out


def profiles_in(runs: list[Run]) -> list[str]:
    names: list[str] = []
    for _, _, results in runs:
        for r in results:
            if r.profile not in names and r.status != "skipped":
                names.append(r.profile)
    return names


def cell_text(r: Result | None, percentile: str) -> str:
    if r is None:
        return "-"
    if r.status != "ok":
        return r.status
    mark = "★ " if r.on_front else ("" if r.feasibility == "feasible" else "✗ ")
    lat = r.latency.get(percentile)
    return f"{mark}{r.accuracy:.3f} | {lat:.4g} ms | {r.peak_memory_mb or 0:.0f} MB"


def percentile_of(runs: list[Run], profile: str) -> str:
    for _, meta, _ in runs:
        p = meta.get("profiles", {}).get(profile)
        if p:
            return p.get("budget", {}).get("percentile", "p95")
    return "p95"


def write_compare_png(runs: list[Run], path: Path) -> Path:
    from matplotlib.figure import Figure

    names = profiles_in(runs)
    fig = Figure(figsize=(6 * max(1, len(names)), 4.5), dpi=150)
    axes = fig.subplots(1, max(1, len(names)), squeeze=False)[0]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for ax, name in zip(axes, names, strict=False):
        pct = percentile_of(runs, name)
        for i, (label, _, results) in enumerate(runs):
            ok = [r for r in results if r.profile == name and r.status == "ok" and r.latency.get(pct)]
            color = colors[i % len(colors)]
            ax.scatter([r.latency[pct] for r in ok], [r.accuracy for r in ok], s=18, alpha=0.5, color=color,
                       label=label)  # fmt: skip
            front = sorted((r for r in ok if r.on_front), key=lambda r: r.latency[pct])
            if front:
                ax.step([r.latency[pct] for r in front], [r.accuracy for r in front], where="post", color=color)
        ax.set_xscale("log")
        ax.set_xlabel(f"latency {pct} (ms)")
        ax.set_ylabel("accuracy")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    return path
