"""Terminal tables of a profile's front: a rich Table on a terminal, plain rows when it would not fit.

Numbers go through archbench.fmt, so a cell never needs exponent notation or wrapping to be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from archbench import fmt
from archbench.config import HardwareProfile
from archbench.pareto import front, why_nothing_feasible
from archbench.report.common import budget_line, label, latency_cell, metric_name
from archbench.result import Result

if TYPE_CHECKING:
    from rich.table import Table


def front_rows(results: Iterable[Result], profile: HardwareProfile) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of one profile's front, as text cells."""
    results = list(results)
    pct = profile.budget.percentile
    rows = front(results, profile.name)
    staged = any(r.stage_latency_ms for r in rows)
    metric = metric_name(rows)
    head = ["candidate", "variant", metric]
    head += [f"pipeline {'acc' if metric == 'accuracy' else metric}"] if profile.upstream else []
    head += [f"{pct} ms [lower, upper]"] + (["tokenizer p50 ms"] if staged else [])
    head += ["peak MB", "model MB", "items/s"]
    body = []
    for r in rows:
        cells = [r.candidate, r.variant, fmt.num(r.accuracy)]
        cells += [fmt.num(r.pipeline_accuracy)] if profile.upstream else []
        cells += [latency_cell(r, pct)] + ([fmt.num(r.stage_latency_ms.get("tokenizer_p50"))] if staged else [])
        cells += [fmt.num(r.peak_memory_mb), fmt.num(r.model_mb), fmt.si(r.throughput)]
        body.append(cells)
    return head, body


def render_front_table(results: Iterable[Result], profile: HardwareProfile) -> Table:
    """A rich Table of one profile's front, for the terminal; its caption says why when it is empty."""
    from rich.markup import escape
    from rich.table import Table

    results = list(results)
    head, body = front_rows(results, profile)
    # Square brackets are rich markup: escape every text that may contain them.
    ours = [r for r in results if r.profile == profile.name]
    caption = f"budgets: {budget_line(profile, metric_name(ours))}"
    table = Table(title=f"{profile.name}: Pareto front", caption=escape(caption))
    for i, name in enumerate(head):
        # Numbers never wrap: a cell cut into lines is unreadable; rich shrinks the name columns instead.
        table.add_column(escape(name), justify="left" if i < 2 else "right", no_wrap=i >= 2)
    for cells in body:
        table.add_row(*(escape(c) for c in cells))
    if not body:
        table.caption = escape(why_nothing_feasible(results, profile.name))
    return table


def plain_front_lines(results: Iterable[Result], profile: HardwareProfile) -> list[str]:
    """The front as one plain line per member (for logs and narrow terminals), under a title line."""
    results = list(results)
    pct = profile.budget.percentile
    rows = front(results, profile.name)
    metric = metric_name([r for r in results if r.profile == profile.name])
    short = "acc" if metric == "accuracy" else metric
    lines = [f"{profile.name}: Pareto front ({len(rows)}); budgets: {budget_line(profile, metric)}"]
    if not rows:
        return [f"{profile.name}: {why_nothing_feasible(results, profile.name)}"]
    for r in rows:
        value = fmt.num(r.pipeline_accuracy if profile.upstream else r.accuracy)
        acc = f"pipeline {short} {value}" if profile.upstream else f"{short} {value}"
        rate = f", {fmt.rate(r.throughput)}" if r.throughput else ""
        lines.append(f"  {label(r)}: {acc}, {pct} {latency_cell(r, pct)} ms, peak {fmt.mb(r.peak_memory_mb)}, "
                     f"model {fmt.mb(r.model_mb)}{rate}")  # fmt: skip
    return lines
