"""latency.png: the raw latency samples of each front member and of the fastest infeasible candidates.

One panel per measured profile: the share of requests slower than each latency (1 - ECDF),
both axes log scale, with the latency budget and the budget percentile drawn, so the tail a verdict rests on is visible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import archbench.report.plotkit as plotkit
from archbench import fmt
from archbench.config import HardwareProfile
from archbench.pareto import upstream_latency_ms
from archbench.report.common import label, profile_line, skipped_profiles
from archbench.result import Result

LATENCY_PNG = "latency.png"
FASTEST_INFEASIBLE = 3  # how many infeasible candidates to show beside the front
_PERCENTILE_LEVEL = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def chosen(results: list[Result], profile: HardwareProfile) -> tuple[list[Result], list[Result]]:
    """(front members, the fastest infeasible ones), each with latency samples, fastest first."""
    pct = profile.budget.percentile
    measured = [r for r in results if r.status == "ok" and r.latency_samples_ms and r.latency_at(pct) is not None]
    key = lambda r: r.latency_at(pct)  # noqa: E731
    front = sorted((r for r in measured if r.on_front), key=key)
    infeasible = sorted((r for r in measured if r.feasibility == "infeasible"), key=key)[:FASTEST_INFEASIBLE]
    return front, infeasible


def _tail(ax: Any, r: Result, **style: Any) -> int:
    """The share of requests slower than x (1 - ECDF), on a log scale so the tail a percentile reads is wide.
    Returns the number of samples drawn."""
    xs = sorted(x for x in r.latency_samples_ms if x > 0 and math.isfinite(x))
    n = len(xs)
    if n:  # the last sample has nothing slower: stop at 1/n, the smallest share the samples can show
        ax.step(xs, [max(1 - (i + 1) / n, 1 / n) for i in range(n)], where="post", **style)
    return n


def _why(r: Result) -> str:
    broken = [v.budget.removeprefix("min_").removesuffix("_mb").split("_")[0] for v in r.verdicts if v.status == "fail"]
    return "breaks " + ", ".join(dict.fromkeys(broken)) if broken else "infeasible"


def _panel(ax: Any, results: list[Result], profile: HardwareProfile) -> bool:
    from matplotlib.ticker import FuncFormatter

    pct = profile.budget.percentile
    front, infeasible = chosen(results, profile)
    if not front and not infeasible:
        ax.text(0.5, 0.5, "no latency samples", ha="center", va="center", transform=ax.transAxes, color="0.4")
        ax.set_xticks([])
        ax.set_yticks([])
        return False
    from matplotlib import colormaps

    colours = [colormaps["tab20"](i) for i in (0, 2, 4, 6, 8, 10, 12, 16, 18, 1, 3, 5, 7, 9, 11, 13, 17, 19)]
    for i, r in enumerate(front):
        _tail(ax, r, color=colours[i % len(colours)], linewidth=1.3,
              label=f"{label(r)}  {pct} {fmt.ms(r.latency_at(pct))} (n={len(r.latency_samples_ms)})")  # fmt: skip
    for j, r in enumerate(infeasible):
        _tail(ax, r, color="0.45", linewidth=1.0, linestyle=("--", "-.", ":")[j % 3],
              label=f"{label(r)}  {pct} {fmt.ms(r.latency_at(pct))}  ({_why(r)})")  # fmt: skip
    level = _PERCENTILE_LEVEL.get(pct)
    if level is not None:
        ax.axhline(1 - level, color="0.3", linewidth=0.7, linestyle=":")
        ax.annotate(f"{pct}: {fmt.num(100 * (1 - level))}% of calls slower", (1, 1 - level),
                    xycoords=("axes fraction", "data"), xytext=(-3, 2), textcoords="offset points", ha="right",
                    fontsize=6.5, color="0.3")  # fmt: skip
    b = profile.budget
    if b.latency_ms is not None and b.latency_ms - upstream_latency_ms(profile) > 0:
        limit = b.latency_ms - upstream_latency_ms(profile)
        ax.axvline(limit, color=plotkit.BUDGET_COLOUR, linestyle="--", linewidth=1)
        ax.annotate(f"budget {fmt.ms(limit)}", (limit, 1), xycoords=("data", "axes fraction"), xytext=(-3, -3),
                    textcoords="offset points", rotation=90, ha="right", va="top", fontsize=6.5,
                    color=plotkit.BUDGET_COLOUR)  # fmt: skip
    ax.set_xscale("log")
    plotkit.log_axis(ax.xaxis)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{fmt.num(100 * v)}%"))
    ax.set_xlabel("latency per call at the profile's batch size (ms, log scale)", fontsize=8)
    ax.set_ylabel("calls slower than this (log scale)", fontsize=8)
    ax.set_title(f"{profile.name} · {profile_line(profile)}: front (colour), fastest infeasible (grey)",
                 fontsize=9, loc="left")  # fmt: skip
    ax.tick_params(labelsize=7)
    ax.grid(True, which="major", alpha=0.25)
    ax.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return True


def write_latency_png(run_dir: str | Path, results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> Path:
    """latency.png: ECDF of raw latency samples per measured profile."""
    results = list(results)
    skipped = skipped_profiles(results, profiles)
    shown = [n for n in profiles if n not in skipped]
    fig = plotkit.profiles_figure(skipped, shown, 4.0, 0.4)
    if shown:
        for ax, name in zip(fig.subplots(len(shown), 1, squeeze=False)[:, 0], shown, strict=True):
            _panel(ax, [r for r in results if r.profile == name], profiles[name])
    return plotkit.save_png(fig, Path(run_dir) / LATENCY_PNG)
