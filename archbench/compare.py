"""Compare runs (across machines, or before/after a change): one table per profile, one overlaid plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbench.result import Result

Run = tuple[str, dict[str, Any], list[Result]]  # (label, meta, results)
FILL = {"feasible": "full", "undecided": "left"}  # a marker's fill: hollow for infeasible


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
    from archbench import fmt

    if r is None:
        return "-"
    if r.status != "ok":
        return r.status
    mark = "★ " if r.on_front else {"feasible": "", "undecided": "? "}.get(r.feasibility, "✗ ")
    return f"{mark}{fmt.num(r.accuracy)} | {fmt.ms(r.latency.get(percentile))} | {fmt.mb(r.peak_memory_mb)}"


def percentile_of(runs: list[Run], profile: str) -> str:
    for _, meta, _ in runs:
        p = meta.get("profiles", {}).get(profile)
        if p:
            return p.get("budget", {}).get("percentile", "p95")
    return "p95"


def _budget(runs: list[Run], profile: str) -> dict[str, Any]:
    for _, meta, _ in runs:
        p = meta.get("profiles", {}).get(profile)
        if p:
            return p.get("budget", {}) or {}
    return {}


def _compare_panel(ax: Any, runs: list[Run], name: str) -> list[tuple[float, float, str]]:
    """One profile: every run's points in its colour (filled feasible, half-filled undecided, hollow
    infeasible, black edge on the front), the budgets, and an arrow from the first run to each other run for
    candidates on either front.
    Returns the labels to place: (x, y, text) at each arrow's head."""
    from archbench import fmt
    from archbench.report import plotkit

    pct = percentile_of(runs, name)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    where: list[dict[tuple[str, str], tuple[float, float, Result]]] = []
    xs: list[float] = []
    for i, (_, _, results) in enumerate(runs):
        colour = colours[i % len(colours)]
        pts = {(r.candidate, r.variant): (r.latency[pct], r.accuracy, r) for r in results
               if r.profile == name and r.status == "ok" and r.latency.get(pct) and r.accuracy is not None}  # fmt: skip
        where.append(pts)
        for x, y, r in pts.values():
            xs.append(x)
            ax.plot([x], [y], linestyle="none", marker="o", markersize=7 if r.on_front else 5,
                    fillstyle=FILL.get(r.feasibility, "none"), color=colour,
                    markeredgecolor="black" if r.on_front else colour, markeredgewidth=1.2 if r.on_front else 1,
                    alpha=0.9 if r.on_front else 0.6, zorder=4 if r.on_front else 3)  # fmt: skip
    labels = []
    on_a_front = {k for pts in where for k, (_, _, r) in pts.items() if r.on_front}
    for k in sorted(on_a_front):
        if k not in where[0]:
            continue
        x0, y0, _ = where[0][k]
        for pts in where[1:]:
            if k in pts:
                x1, y1, _ = pts[k]
                ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3",
                            "linewidth": 0.8, "shrinkA": 3, "shrinkB": 4}, zorder=2)  # fmt: skip
                labels.append((x1, y1, f"{k[0]}/{k[1]}"))
    budget = _budget(runs, name)
    style = {"color": plotkit.BUDGET_COLOUR, "linestyle": "--", "linewidth": 1, "zorder": 1}
    if budget.get("latency_ms"):
        ax.axvline(budget["latency_ms"], **style)
        xs.append(budget["latency_ms"])
        ax.annotate(f"{pct} budget {fmt.ms(budget['latency_ms'])}", (budget["latency_ms"], 0),
                    xycoords=("data", "axes fraction"), xytext=(-3, 4), textcoords="offset points", rotation=90,
                    ha="right", va="bottom", fontsize=6.5, color=plotkit.BUDGET_COLOUR)  # fmt: skip
    if budget.get("min_accuracy"):
        ax.axhline(budget["min_accuracy"], **style)
        ax.annotate(f"min accuracy {fmt.num(budget['min_accuracy'])}", (0, budget["min_accuracy"]),
                    xycoords=("axes fraction", "data"), xytext=(3, -3), textcoords="offset points", va="top",
                    fontsize=6.5, color=plotkit.BUDGET_COLOUR)  # fmt: skip
    ax.set_xscale("log")
    plotkit.log_axis(ax.xaxis)
    if xs:
        ax.set_xlim(min(xs) / 1.35, max(xs) * 1.35)
    ax.set_xlabel(f"latency {pct} (ms, log scale)", fontsize=8)
    ax.set_ylabel("accuracy", fontsize=8)
    ax.set_title(name, fontsize=9, loc="left")
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.25)
    return labels


def write_compare_png(runs: list[Run], path: Path) -> Path:
    """The runs overlaid per profile: fronts, budgets, feasibility, and what moved between runs."""
    from matplotlib.lines import Line2D

    from archbench.report import plotkit

    names = profiles_in(runs) or ["(nothing measured)"]
    fig = plotkit.new_figure(6.5 * len(names), 5.4)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    placed = [(ax, _compare_panel(ax, runs, name)) for ax, name in zip(axes, names, strict=True)]
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    handles = [Line2D([], [], linestyle="none", marker="o", color=colours[i % len(colours)], label=label)
               for i, (label, _, _) in enumerate(runs)]  # fmt: skip
    handles += [
        Line2D([], [], linestyle="none", marker="o", color="0.4", label="feasible"),
        Line2D([], [], linestyle="none", marker="o", color="0.4", fillstyle="left", label="undecided"),
        Line2D([], [], linestyle="none", marker="o", color="0.4", fillstyle="none", label="infeasible"),
        Line2D([], [], linestyle="none", marker="o", color="0.4", markeredgecolor="black", markeredgewidth=1.2,
               label="on that run's front"),
        Line2D([], [], color="0.3", marker=">", markersize=4, label=f"moved: {runs[0][0]} → other run"),
        Line2D([], [], color=plotkit.BUDGET_COLOUR, linestyle="--", label="budget"),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 4), fontsize=7, frameon=False)
    renderer = plotkit.freeze_layout(fig)
    for ax, labels in placed:
        plotkit.place_labels(ax, renderer, labels, [(x, y) for x, y, _ in labels])
    return plotkit.save_png(fig, path)
