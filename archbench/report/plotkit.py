"""Drawing helpers shared by every figure (pareto.png, latency.png, compare -o): styles, log axes,
label placement. matplotlib is imported inside the functions, so importing this module stays cheap.

Figures use the object-oriented API (Figure, no pyplot): it needs no GUI backend and touches no global
state, so it is headless-safe without matplotlib.use("Agg"), which would switch a caller's backend.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbench import atomic, fmt

VARIANT_MARKERS = {"torch": "o", "onnx": "s", "onnx-int8": "^", "onnx-int8-pc": "v", "torch-int8": "D"}
_SPARE_MARKERS = ("P", "X", "*", "h", "<", ">", "p")
STATUS_STYLE = {  # colour, fill style
    "on the front": ("tab:blue", "full"),
    "feasible": ("tab:blue", "none"),
    "undecided": ("tab:orange", "left"),
    "infeasible": ("0.6", "none"),
}
BUDGET_COLOUR = "tab:red"


def marker(variant: str, spare: dict[str, str]) -> str:
    """The variant's marker; variants without a fixed one take the next spare one, consistently."""
    if variant in VARIANT_MARKERS:
        return VARIANT_MARKERS[variant]
    if variant not in spare:
        spare[variant] = _SPARE_MARKERS[len(spare) % len(_SPARE_MARKERS)]
    return spare[variant]


def status_style(feasibility: str, on_front: bool = False) -> tuple[str, str]:
    """Colour and fill: filled blue on the front, hollow blue feasible but beaten, grey infeasible."""
    return STATUS_STYLE["on the front" if on_front else feasibility if feasibility in STATUS_STYLE else "infeasible"]


def log_axis(axis: Any) -> None:
    """A log axis labelled at 1-2-5 steps in plain numbers, minor ticks unlabelled (labels never collide)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt.num(v)))
    axis.set_minor_formatter(NullFormatter())


def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)  # a canvas with a renderer: label placement measures text before saving
    return fig


def profiles_figure(skipped: dict[str, str], shown: Sequence[str], row_height: float, extra: float) -> Any:
    """A figure with a row per shown profile; skipped profiles are named in its title, not drawn, and a
    figure with nothing to show says so."""
    fig = new_figure(11.0, row_height * max(1, len(shown)) + extra)
    if skipped:
        fig.suptitle("not drawn: " + "; ".join(f"{n} ({why})" for n, why in skipped.items()), fontsize=8,
                     color="0.35")  # fmt: skip
    if not shown:
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no profile was measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    return fig


def freeze_layout(fig: Any) -> Any:
    """Lay the figure out once and keep the axes where they are, so labels placed next fit the final image."""
    fig.canvas.draw()
    fig.set_layout_engine("none")
    return fig.canvas.get_renderer()


def save_png(fig: Any, path: str | Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic.write_bytes(Path(path), buf.getvalue())


# Directions tried around a point, nearest first: right, above, below, left, then the diagonals.
_DIRECTIONS = ((1, 0), (0, 1), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, 1), (-1, -1))
_RADII = (5, 12, 22, 34, 48)
_LEADER = {"arrowstyle": "-", "color": "0.35", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 4}


def place_labels(ax: Any, renderer: Any, items: Sequence[tuple[float, float, str]],
                 avoid: Sequence[tuple[float, float]], *, fontsize: float = 6.5,
                 colour: str = "0.15") -> list[Any]:  # fmt: skip
    """Label each (x, y, text) next to its point so that no label overlaps another label, a point or the
    axes' edge: try positions around the point, nearest first; a label pushed far off gets a leader line.

    Greedy and deterministic (same figure, same placement). `avoid` are the data points to keep clear.
    """
    axes_box = ax.get_window_extent(renderer)
    pad = 3.0  # display pixels around each marker
    points = [ax.transData.transform((x, y)) for x, y in avoid]
    blocked = [(px - pad - 3, py - pad - 3, px + pad + 3, py + pad + 3) for px, py in points]
    # Text already on the axes (budget names) is kept clear too.
    placed: list[tuple[float, float, float, float]] = [
        (b.x0, b.y0, b.x1, b.y1) for b in (t.get_window_extent(renderer) for t in ax.texts)]
    annotations = []
    for x, y, text in items:
        ann = ax.annotate(text, (x, y), xytext=(0, 0), textcoords="offset points", fontsize=fontsize,
                          color=colour, zorder=5)  # fmt: skip
        own = ax.transData.transform((x, y))
        best, best_cost = None, float("inf")
        for radius in _RADII:
            for dx, dy in _DIRECTIONS:
                ann.set_ha("left" if dx > 0 else "right" if dx < 0 else "center")
                ann.set_va("bottom" if dy > 0 else "top" if dy < 0 else "center")
                ann.xyann = (dx * radius, dy * radius)
                box = ann.get_window_extent(renderer)
                rect = (box.x0, box.y0, box.x1, box.y1)
                cost = _overlap(rect, placed) + _overlap(rect, [b for b, p in zip(blocked, points, strict=True)
                                                                if (p != own).any()])  # fmt: skip
                cost += 1000 * _outside(rect, axes_box) + radius * 0.01
                if cost < best_cost:
                    best, best_cost = (dx, dy, radius, rect), cost
            if best_cost < 1:  # a clear spot at this distance: nearer is better than any farther one
                break
        assert best is not None
        dx, dy, radius, rect = best
        ann.remove()  # the trial label measured the spots; draw the final one with a leader line if far
        far = radius > _RADII[0]
        ann = ax.annotate(
            text, (x, y), xytext=(dx * radius, dy * radius), textcoords="offset points", fontsize=fontsize,
            color=colour, zorder=5, bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
            ha="left" if dx > 0 else "right" if dx < 0 else "center",
            va="bottom" if dy > 0 else "top" if dy < 0 else "center",
            arrowprops=_LEADER if far else None,
        )  # fmt: skip
        placed.append(rect)
        annotations.append(ann)
    return annotations


def _overlap(rect: tuple[float, float, float, float], others: Sequence[tuple[float, float, float, float]]) -> float:
    x0, y0, x1, y1 = rect
    total = 0.0
    for a0, b0, a1, b1 in others:
        w = min(x1, a1) - max(x0, a0)
        h = min(y1, b1) - max(y0, b0)
        if w > 0 and h > 0:
            total += w * h
    return total


def _outside(rect: tuple[float, float, float, float], box: Any) -> float:
    x0, y0, x1, y1 = rect
    return max(0.0, box.x0 - x0) + max(0.0, x1 - box.x1) + max(0.0, box.y0 - y0) + max(0.0, y1 - box.y1)
