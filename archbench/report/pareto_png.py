"""pareto.png: per profile, accuracy against latency (with both confidence intervals) and against memory.

One row per measured profile: on the left accuracy vs latency at the budget percentile, the latency
confidence interval as a horizontal bar, the accuracy interval (when results carry one) as a vertical
bar, the worst-to-best slice range as a dotted line beside it; on the right accuracy vs peak memory,
the front's third objective. Profiles skipped for want of their device are named in the title, not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import archbench.report.plotkit as plotkit
from archbench import fmt
from archbench.config import HardwareProfile
from archbench.pareto import upstream_accuracy, upstream_latency_ms
from archbench.report.common import (
    accuracy_interval,
    accuracy_of,
    label,
    metric_name,
    profile_line,
    skipped_profiles,
)
from archbench.result import Result

PARETO_PNG = "pareto.png"
Point = tuple[Result, float, float]  # result, x, accuracy


def _points(results: list[Result], profile: HardwareProfile, x_of: Any) -> list[Point]:
    out = []
    for r in results:
        x, y = x_of(r), accuracy_of(r, profile)
        if r.status == "ok" and x is not None and x > 0 and y is not None and math.isfinite(x):
            out.append((r, x, y))
    return out


def _slice_spread(r: Result, profile: HardwareProfile) -> tuple[float, float] | None:
    values = [s["accuracy"] for s in r.slice_accuracy.values()
              if isinstance(s.get("accuracy"), (int, float)) and math.isfinite(s["accuracy"])]  # fmt: skip
    if len(values) < 2:
        return None
    scale = upstream_accuracy(profile) if profile.upstream else 1.0
    return min(values) * scale, max(values) * scale


def _scatter(ax: Any, points: list[Point], spare: dict[str, str]) -> None:
    for r, x, y in points:
        colour, fill = plotkit.status_style(r.feasibility, r.on_front)
        ax.plot([x], [y], linestyle="none", marker=plotkit.marker(r.variant, spare), markersize=6.5, fillstyle=fill,
                color=colour, markeredgecolor=colour, markerfacecoloralt="white", zorder=4)  # fmt: skip


def _intervals(ax: Any, points: list[Point], profile: HardwareProfile, latency_axis: bool) -> None:
    """Confidence intervals as error bars; the slice range as a dotted line just right of the point."""
    for r, x, y in points:
        colour, _ = plotkit.status_style(r.feasibility, r.on_front)
        d = r.latency_decision
        if latency_axis and d is not None and d.percentile == profile.budget.percentile:
            lo = d.lower_ms if d.lower_ms is not None and math.isfinite(d.lower_ms) and d.lower_ms > 0 else x
            hi = d.upper_ms if d.upper_ms is not None and math.isfinite(d.upper_ms) else x
            if hi > lo:
                ax.plot([lo, hi], [y, y], color=colour, linewidth=1.1, alpha=0.85, zorder=3)
        ci = accuracy_interval(r)
        if ci is not None:
            scale = upstream_accuracy(profile) if profile.upstream else 1.0
            ax.plot([x, x], [ci[0] * scale, ci[1] * scale], color=colour, linewidth=1.1, alpha=0.85, zorder=3)
        spread = _slice_spread(r, profile) if profile.budget.min_slice_accuracy else None
        if spread is not None:  # only where a slice budget rests on it: otherwise it buries the intervals
            xs = x * 1.06 if ax.get_xscale() == "log" else x
            ax.plot([xs, xs], spread, color=colour, linewidth=0.8, linestyle=":", marker="_", markersize=4,
                    alpha=0.7, zorder=2)  # fmt: skip


def _budget_lines(ax: Any, profile: HardwareProfile, latency_axis: bool, metric: str) -> None:
    b = profile.budget
    style = {"color": plotkit.BUDGET_COLOUR, "linestyle": "--", "linewidth": 1, "zorder": 1}
    text = {"fontsize": 6.5, "color": plotkit.BUDGET_COLOUR, "textcoords": "offset points"}
    limit = b.latency_ms - upstream_latency_ms(profile) if b.latency_ms is not None else None
    if latency_axis and limit is not None and limit > 0:
        ax.axvline(limit, **style)
        ax.annotate(f"{b.percentile} budget {fmt.ms(limit)}", (limit, 0), xycoords=("data", "axes fraction"),
                    xytext=(-3, 4), rotation=90, ha="right", va="bottom", **text)  # fmt: skip
    if not latency_axis and b.memory_mb is not None:
        ax.axvline(b.memory_mb, **style)
        ax.annotate(f"memory budget {fmt.mb(b.memory_mb)}", (b.memory_mb, 0), xycoords=("data", "axes fraction"),
                    xytext=(-3, 4), rotation=90, ha="right", va="bottom", **text)  # fmt: skip
    if b.min_accuracy is not None:
        ax.axhline(b.min_accuracy, **style)
        ax.annotate(f"min {metric} {fmt.num(b.min_accuracy)}", (0, b.min_accuracy),
                    xycoords=("axes fraction", "data"), xytext=(3, -3), va="top", **text)  # fmt: skip


def _panel(ax: Any, results: list[Result], profile: HardwareProfile, spare: dict[str, str], latency_axis: bool
           ) -> list[Point]:  # fmt: skip
    pct = profile.budget.percentile
    if latency_axis:
        points = _points(results, profile, lambda r: r.latency_at(pct))
    else:
        points = _points(results, profile, lambda r: r.peak_memory_mb)
    if not points:
        ax.text(0.5, 0.5, "no measured results", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return []
    xs = [x for _, x, _ in points]
    ax.set_xscale("log")
    plotkit.log_axis(ax.xaxis)
    _scatter(ax, points, spare)
    _intervals(ax, points, profile, latency_axis)
    metric = metric_name(results)
    _budget_lines(ax, profile, latency_axis, metric)
    b = profile.budget
    limit = (b.latency_ms - upstream_latency_ms(profile) if b.latency_ms else None) if latency_axis else b.memory_mb
    if limit is not None and limit > 0:
        xs.append(limit)  # the budget line stays in view, with its label
    ax.set_xlim(min(xs) / 1.35, max(xs) * 1.35)
    hidden = len(results) - len(points)
    note = f"\n{hidden} failed or unmeasured not shown" if hidden else ""
    if latency_axis:
        ax.set_xlabel(f"latency {pct} (ms, log scale){note}", fontsize=8)
        ax.set_title(f"{profile.name} · {profile_line(profile)}", fontsize=9, loc="left")
    else:
        ax.set_xlabel(f"peak memory (MB, log scale){note}", fontsize=8)
        ax.set_title(f"{profile.name} · memory", fontsize=9, loc="left")
    ax.set_ylabel(f"pipeline {metric}" if profile.upstream else metric, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.25)
    return points


def _legend(fig: Any, variants: list[str], spare: dict[str, str], sliced: bool, with_ci: bool) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], linestyle="none", marker="o", color=c, fillstyle=f, markerfacecoloralt="white",
                      label=s) for s, (c, f) in plotkit.STATUS_STYLE.items()]
    handles[0].set_label("on the Pareto front (named)")
    handles[1].set_label("feasible, beaten")  # fmt: skip
    handles.append(Line2D([], [], color="0.3", linewidth=1.1, label="confidence interval"))
    if sliced:
        handles.append(Line2D([], [], color="0.3", linestyle=":", marker="_", label="slice accuracy, worst–best"))
    handles.append(Line2D([], [], color=plotkit.BUDGET_COLOUR, linestyle="--", label="budget"))
    handles += [Line2D([], [], linestyle="none", marker=plotkit.marker(v, spare), color="0.25", label=v)
                for v in variants]  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), fontsize=7, frameon=False)


def write_pareto_png(run_dir: str | Path, results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> Path:
    """pareto.png: one row per measured profile: accuracy vs latency, accuracy vs memory."""
    results = list(results)
    skipped = skipped_profiles(results, profiles)
    shown = [n for n in profiles if n not in skipped] or []
    fig = plotkit.profiles_figure(skipped, shown, 4.3, 0.9)
    if not shown:
        return plotkit.save_png(fig, Path(run_dir) / PARETO_PNG)
    axes = fig.subplots(len(shown), 2, squeeze=False, gridspec_kw={"width_ratios": (3, 2)})
    spare: dict[str, str] = {}
    drawn = []
    for row, name in zip(axes, shown, strict=True):
        ours = [r for r in results if r.profile == name]
        for ax, latency_axis in zip(row, (True, False), strict=True):
            drawn.append((ax, _panel(ax, ours, profiles[name], spare, latency_axis)))
    variants = sorted({r.variant for _, pts in drawn for r, _, _ in pts})
    sliced = any(profiles[r.profile].budget.min_slice_accuracy and _slice_spread(r, profiles[r.profile])
                 for _, pts in drawn for r, _, _ in pts)  # fmt: skip
    _legend(fig, variants, spare, sliced, with_ci=True)
    renderer = plotkit.freeze_layout(fig)
    for ax, pts in drawn:
        items = [(x, y, label(r)) for r, x, y in sorted(pts, key=lambda p: p[1]) if r.on_front]
        plotkit.place_labels(ax, renderer, items, [(x, y) for _, x, y in pts])
    return plotkit.save_png(fig, Path(run_dir) / PARETO_PNG)
