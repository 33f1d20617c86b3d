"""summary.md: the machine, then per profile its budgets, its front, and why the others lost."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbench import fmt
from archbench.config import HardwareProfile
from archbench.pareto import front, undecided_advice, upstream_accuracy, why_nothing_feasible
from archbench.report.common import (
    broken_budgets,
    budget_line,
    disturbance,
    label,
    latency_cell,
    metric_name,
    open_budgets,
    profile_line,
    profile_names,
    skipped_profiles,
    throughput_cell,
)
from archbench.report.schema import atomic_write_text
from archbench.result import Result

SUMMARY_MD = "summary.md"
_ALT = {"pareto.png": "Pareto front", "latency.png": "Latency distributions"}


def _md(text: Any) -> str:
    """One line, safe inside a markdown table cell or list item."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _first_line(text: str | None, limit: int = 200) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    if not lines:
        return "no error message"
    # Tracebacks end with the line that says what went wrong; other messages start with it.
    line = _md(lines[-1] if lines[0].startswith("Traceback") else lines[0])
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _front_table(rows: list[Result], profile: HardwareProfile) -> list[str]:
    pct = profile.budget.percentile
    slices = sorted({name for r in rows for name in r.slice_accuracy})
    counts = {s: next((r.slice_accuracy[s].get("n") for r in rows if s in r.slice_accuracy), "?") for s in slices}
    staged = any(r.stage_latency_ms for r in rows)
    metric = metric_name(rows)
    head = ["candidate", "variant", metric]
    if profile.upstream:
        head.append(f"pipeline {metric}")
    head += [f"{pct} ms [lower, upper]", "peak MB", "model MB", "throughput /s [lower, upper]"]
    if staged:
        head += ["tokenizer p50 ms", "model p50 ms"]
    head += [f"{'acc' if metric == 'accuracy' else metric}[{s}] n={counts[s]}" for s in slices]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [_md(r.candidate), _md(r.variant), fmt.num(r.accuracy)]
        if profile.upstream:
            cells.append(fmt.num(r.pipeline_accuracy))
        cells += [latency_cell(r, pct), fmt.num(r.peak_memory_mb), fmt.num(r.model_mb), throughput_cell(r)]
        if staged:
            cells += [fmt.num(r.stage_latency_ms.get("tokenizer_p50")), fmt.num(r.stage_latency_ms.get("model_p50"))]
        cells += [fmt.num(r.slice_accuracy[s].get("accuracy")) if s in r.slice_accuracy else "-" for s in slices]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _pipeline_lines(profile: HardwareProfile, ours: Sequence[Result]) -> list[str]:
    """Upstream stages (they cap what any model can reach) and the padding policy the figures assume."""
    lines = []
    if profile.upstream:
        stages = ", ".join(f"{s.name} ({fmt.num(s.latency_ms)} ms, accuracy {fmt.num(s.accuracy)})"
                           for s in profile.upstream)  # fmt: skip
        lines.append(f"Upstream stages: {_md(stages)}: no model can push pipeline accuracy above "
                     f"{fmt.num(upstream_accuracy(profile))}.")  # fmt: skip
    policies = sorted({r.meta["padding_policy"].split(";")[0] for r in ours if r.meta.get("padding_policy")})
    lines += [f"Padding: {_md(p)}." for p in policies]
    return ["", *lines] if lines else []


def _machine_lines(env: dict[str, Any]) -> list[str]:
    cores = env.get("logical_cores")
    usable = env.get("usable_cores")
    core_text = f"{cores} logical cores" + (f" ({usable} usable)" if usable not in (None, cores) else "")
    mem = env.get("total_memory_mb")
    lines = [
        f"Machine: {_md(env.get('cpu_model', 'unknown CPU'))}, {core_text}, "
        f"{fmt.mb(mem) if mem is not None else '? MB'} memory"
        + (f", GPU: {_md(', '.join(env['gpus']))}" if env.get("gpus") else "")
        + (f" (fingerprint {env['fingerprint']})" if env.get("fingerprint") else ""),
    ]
    if env.get("os"):
        lines.append(f"OS: {_md(env['os'])}, Python {env.get('python', '?')}")
    return lines


def _unordered_lines(results: list[Result], profile: HardwareProfile, y_true: Sequence[int] | None) -> list[str]:
    """Front members that only overlapping latency intervals keep on the front (after racing), and why."""
    from archbench.pareto import latency_unordered

    pairs = latency_unordered(results, profile, y_true)
    if not pairs:
        return []
    members = sorted({label(r) for pair in pairs for r in pair if r.on_front})
    n_pairs = f"{len(pairs)} pair{'s' if len(pairs) != 1 else ''}"
    out = ["", f"{len(members)} front member{'s' if len(members) != 1 else ''} could not be ordered by latency "
           f"against a result that may beat them ({n_pairs} below; their confidence intervals overlap, even "
           "after racing: raise `measure.max_seconds` or `max_samples` to tighten them):"]  # fmt: skip
    out += [f"- {_md(label(a))} may be faster than {_md(label(b))}" for a, b in pairs]
    return out


def _profile_section(results: list[Result], name: str, profile: HardwareProfile,
                     y_true: Sequence[int] | None = None) -> list[str]:  # fmt: skip
    ours = [r for r in results if r.profile == name]
    budgets = budget_line(profile, metric_name(ours))
    out = [f"{profile_line(profile)}. Budgets: {budgets}", *_pipeline_lines(profile, ours), ""]
    rows = front(results, name)
    if rows:
        out += _front_table(rows, profile)
        out += _unordered_lines(results, profile, y_true)
    else:
        out.append(f"No feasible model: {_md(why_nothing_feasible(results, name))}")
    infeasible = [r for r in ours if r.feasibility == "infeasible"]
    if infeasible:
        out += ["", "Infeasible:"]
        out += [f"- {_md(label(r))}: {_md('; '.join(broken_budgets(r)))}" for r in infeasible]
    undecided = [r for r in ours if r.feasibility == "undecided"]
    if undecided:
        out += ["", f"Undecided (need {undecided_advice(undecided)}):"]
        out += [f"- {_md(label(r))}: {_md('; '.join(open_budgets(r)))}" for r in undecided]
    disturbed = [r for r in ours if r.disturbed]
    if disturbed:
        out += ["", "Disturbed (busy through every attempt; latency figures are pessimistic):"]
        for r in disturbed:
            attempts = max(r.meta.get("measure_attempts") or [1])
            out.append(f"- {_md(label(r))}: {_md(disturbance(r))}, {attempts} attempt{'s' if attempts != 1 else ''}")
    failed = [r for r in ours if r.status != "ok"]
    if failed:
        out += ["", "Failed or skipped:"]
        out += [f"- {_md(label(r))} ({r.status}): {_first_line(r.error)}" for r in failed]
    return out


def summary_markdown(
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    *,
    complete: bool = True,
    notes: Sequence[str] = (),
    figures: Sequence[str] = ("pareto.png", "latency.png"),
    y_true: Sequence[int] | None = None,
) -> str:
    results = list(results)
    out = ["# archbench results", "", *_machine_lines(environment or {})]
    if not complete:
        out += ["", "**Incomplete run**: it was interrupted; only what was measured is reported."]
    out += [f"- note: {_md(n)}" for n in notes]
    if figures:
        out.append("")
        out += [f"![{_ALT.get(f, Path(f).stem)}]({f})" for f in figures]
    skipped = skipped_profiles(results, profiles)
    for name in profile_names(results, profiles):
        profile = profiles.get(name)
        out += ["", f"## {_md(name)}", ""]
        if name in skipped:  # one line, not one per candidate: nothing was measured here
            out.append(f"Skipped: {_md(skipped[name])}.")
        elif profile is None:
            out.append("(profile definition not available)")
        else:
            out += _profile_section(results, name, profile, y_true)
    return "\n".join(out) + "\n"


def write_summary_md(
    run_dir: str | Path,
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    *,
    complete: bool = True,
    notes: Sequence[str] = (),
    figures: Sequence[str] = ("pareto.png", "latency.png"),
    y_true: Sequence[int] | None = None,
) -> Path:
    """summary.md: the machine, then per profile its budgets, its front, and why the others lost."""
    text = summary_markdown(results, profiles, environment, complete=complete, notes=notes, figures=figures,
                            y_true=y_true)
    return atomic_write_text(Path(run_dir) / SUMMARY_MD, text)
