"""Terminal output: a progress bar while the sweep works, tables of each profile's front after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def run_with_progress(sweep: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.fields[label]}"), transient=False,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int, label: str) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total, label="")
            bar.update(tasks[phase], completed=done, total=total, label=label)

        sweep.progress = update
        return sweep.run()


def print_outcome(outcome: Any) -> None:
    from rich.console import Console

    from archbench.pareto import front, why_nothing_feasible
    from archbench.report import render_front_table

    console = Console()
    for name in outcome.profiles:
        ours = [r for r in outcome.results if r.profile == name]
        skipped = [r for r in ours if r.status == "skipped"]
        if ours and len(skipped) == len(ours):
            console.print(f"[yellow]{name}: skipped[/] — {skipped[0].error.removeprefix('profile skipped: ')}")
            continue
        if front(outcome.results, name):
            console.print(render_front_table(outcome.results, outcome.profiles[name]))
        else:
            console.print(f"[red]{why_nothing_feasible(outcome.results, name)}[/]")
        failed = [r for r in ours if r.status == "failed"]
        for r in failed:
            console.print(f"  [red]failed[/] {r.candidate}/{r.variant}: {r.error}")
        for r in (r for r in ours if r.disturbed):
            console.print(f"  [yellow]disturbed[/] {r.candidate}/{r.variant}: the core ran {r.host_slowdown:.2f}x "
                          "slower than its quietest through every attempt; its latency reads high")  # fmt: skip
    console.print(f"results: {outcome.run_dir}/ (" + ", ".join(sorted(p.name for p in outcome.files.values())) + ")")


def print_profile_list(found: dict[str, tuple[str, Path]], user_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from archbench.config import load_profile
    from archbench.errors import ConfigError

    table = Table(title="hardware profiles")
    for col in ("name", "origin", "device", "threads", "batch", "budget", "path"):
        table.add_column(col)
    for name, (origin, path) in sorted(found.items()):
        try:
            p = load_profile(path)
            b = p.budget
            budget = ", ".join(filter(None, [
                f"{b.percentile} ≤ {b.latency_ms:g} ms" if b.latency_ms else "",
                f"mem ≤ {b.memory_mb:g} MB" if b.memory_mb else "",
                f"acc ≥ {b.min_accuracy:g}" if b.min_accuracy else "",
            ]))  # fmt: skip
            table.add_row(name, origin, p.device, str(p.threads), str(p.batch_size), budget, str(path))
        except ConfigError as exc:
            table.add_row(name, origin, "-", "-", "-", f"[red]invalid: {exc.reason}[/]", str(path))
    console = Console()
    console.print(table)
    console.print(f"user profiles are read from {user_dir} (set ARCHBENCH_PROFILES to change)")


def print_profile(profile: Any) -> None:
    from rich.console import Console
    from rich.syntax import Syntax

    text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False)
    Console().print(Syntax(text, "yaml", theme="ansi_dark"))


def print_compare(runs: list[Any], paths: list[Path], out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from archbench import compare

    console = Console()
    labels = [compare.run_label(p, meta) for p, (_, meta, _) in zip(paths, runs, strict=True)]
    if len(set(labels)) < len(labels):  # same run id in two folders: name them by their folders
        labels = [str(p.parent) for p in paths]
    labelled = [(label, meta, results) for label, (_, meta, results) in zip(labels, runs, strict=True)]
    machines = {meta.get("run", {}).get("machine") for _, meta, _ in labelled}
    for label, meta, _ in labelled:
        console.print(f"[bold]{label}[/]: {compare.machine_line(meta)}")
    if len(machines) > 1:
        console.print("[yellow]runs come from different machines: differences include the hardware[/]")
    for name in compare.profiles_in(labelled):
        pct = compare.percentile_of(labelled, name)
        table = Table(title=f"{name}: accuracy | latency {pct} | peak memory  (★ front, ✗ infeasible)")
        table.add_column("candidate/variant")
        for label, _, _ in labelled:
            table.add_column(label)
        for row in compare.rows(labelled, name):
            table.add_row(f"{row['candidate']}/{row['variant']}", *[compare.cell_text(c, pct) for c in row["cells"]])
        console.print(table)
    if out is not None:
        console.print(f"plot: {compare.write_compare_png(labelled, out)}")


def print_gate(checks: list[Any], passed: bool, fmt: str = "text") -> None:
    from rich.console import Console

    if fmt == "markdown":
        from archbench.gate import markdown

        print(markdown(checks, passed), end="")
        return
    console = Console(soft_wrap=True)  # one check per line, even in narrow CI logs
    style = {"pass": "green", "fail": "red", "inconclusive": "yellow"}
    for c in checks:
        console.print(f"[{style[c.status]}]{c.status:<12}[/] {c.name}: {c.detail}", highlight=False)
    console.print("[bold green]gate passed[/]" if passed else "[bold red]gate failed[/]")


def print_trial(i: int, total: int, r: Any, profile: Any) -> None:
    from rich.console import Console

    params = r.meta.get("search_params", {})
    if r.status != "ok":
        Console(soft_wrap=True).print(f"trial {i + 1}/{total} {params}: [red]{r.status}[/] {r.error}")
        return
    pct = profile.budget.percentile
    Console(soft_wrap=True).print(
        f"trial {i + 1}/{total} {params}: acc {r.accuracy:.4f}, {pct} {r.latency.get(pct, float('nan')):.4g} ms, "
        f"{r.peak_memory_mb or 0:.0f} MB -> {r.feasibility}",
        highlight=False,
    )


def print_search(outcome: Any, profile: Any) -> None:
    from rich.console import Console

    from archbench.pareto import front, why_nothing_feasible
    from archbench.report import render_front_table

    console = Console()
    if front(outcome.results, profile.name):
        console.print(render_front_table(outcome.results, profile))
    else:
        console.print(f"[red]{why_nothing_feasible(outcome.results, profile.name)}[/]")
    console.print(f"results: {outcome.run_dir}/ (" + ", ".join(sorted(p.name for p in outcome.files.values())) + ")")
