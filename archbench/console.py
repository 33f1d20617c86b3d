"""Terminal output: a progress bar while the sweep works, tables of each profile's front after."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from archbench import fmt


def is_terminal() -> bool:
    """A person watching (progress bar, tables) or a log being written (plain lines)?"""
    return sys.stdout.isatty()


def _plain() -> Any:
    from rich.console import Console

    # Never wrap or colour a log line: one event, one line, greppable.
    return Console(soft_wrap=True, markup=False, highlight=False, no_color=True)


def result_line(i: int, total: int, result: Any, profile: Any) -> str:
    """One finished measurement as one plain line, e.g.
    '[12/60] cnn-small/onnx on edge-1t: acc 0.973, p95 0.022 ms [0.021, 0.026], 81 MB, feasible, 3.1 s'."""
    from archbench.report.common import broken_budgets, disturbance, latency_cell

    head = f"[{i}/{total}] {result.candidate}/{result.variant} on {result.profile}"
    if result.status != "ok":
        first = next((ln for ln in (result.error or "").strip().splitlines()[::-1] if ln.strip()), "no message")
        if result.status == "skipped":
            first = (result.error or "").strip().splitlines()[0] if result.error else "skipped"
        return f"{head}: {result.status}: {first.removeprefix('profile skipped: ')}"
    pct = profile.budget.percentile
    acc = result.pipeline_accuracy if profile.upstream else result.accuracy
    name = {"accuracy": "acc"}.get(result.metric, result.metric)
    ci = result.accuracy_interval if not profile.upstream else None
    acc_text = f"{name} {fmt.num(acc)}" + (f" [{fmt.num(ci[0])}, {fmt.num(ci[1])}]" if ci else "")
    parts = [acc_text, f"{pct} {latency_cell(result, pct)} ms", fmt.mb(result.peak_memory_mb)]
    verdict = result.feasibility
    if result.feasibility == "infeasible":
        verdict += " (" + "; ".join(broken_budgets(result)) + ")"
    parts.append(verdict + (", on the front" if result.on_front else ""))
    if result.disturbed:
        parts.append(f"disturbed ({disturbance(result)})")
    seconds = result.timings.get("measure_s")
    if seconds is not None:
        parts.append(fmt.seconds(seconds))
    return f"{head}: " + ", ".join(parts)


def run_with_progress(sweep: Any) -> Any:
    """Run the sweep: a progress bar on a terminal, one plain line per finished step otherwise."""
    if not is_terminal():
        return _run_plain(sweep)
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


def _run_plain(sweep: Any) -> Any:
    """Without a terminal: a line as each build or measurement finishes, flushed, so CI logs show progress.

    The sweep reports the start of each step (progress(phase, done, total, label)); a step is finished when
    the next one starts. Where the sweep also reports finished results (an `on_result` attribute taking
    (i, total, result, profile)), each measurement gets its full result_line instead.
    """
    import time

    out = _plain()
    started: dict[str, tuple[int, str, float]] = {}  # phase -> (done before it, label, start time)
    with_results = hasattr(sweep, "on_result")

    def update(phase: str, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        prev = started.pop(phase, None)
        if prev is not None and done > prev[0] and not (with_results and phase == "measure"):
            out.print(f"[{done}/{total}] {phase} {prev[1]}: done in {fmt.seconds(now - prev[2])}")
        if label and done < total:
            started[phase] = (done, label, now)

    skipped: set[str] = set()

    def on_result(i: int, total: int, result: Any, profile: Any) -> None:
        if result.status == "skipped":  # one line per skipped profile, not one per candidate
            if result.profile not in skipped:
                skipped.add(result.profile)
                why = (result.error or "").removeprefix("profile skipped: ")
                out.print(f"[{i}/{total}] profile {result.profile} skipped: {why}")
            return
        out.print(result_line(i, total, result, profile))

    sweep.progress = update
    if with_results:
        sweep.on_result = on_result
    return sweep.run()


def print_fronts(results: list[Any], profiles: dict[str, Any], console: Any = None) -> None:
    """Each profile's front (a table on a terminal wide enough, plain rows otherwise) and every verdict:
    infeasible with the budgets broken, undecided, failed, disturbed; a skipped profile in one line."""
    from rich.markup import escape

    from archbench.pareto import front, why_nothing_feasible
    from archbench.report.common import broken_budgets, disturbance, label, open_budgets, skipped_profiles
    from archbench.report.tables import plain_front_lines, render_front_table

    tty = console is None and is_terminal()
    console = console or (_console() if tty else _plain())
    skipped = skipped_profiles(results, profiles)
    for name, profile in profiles.items():
        ours = [r for r in results if r.profile == name]
        if name in skipped:
            console.print(f"{name}: skipped: {skipped[name]}" if not tty else f"[yellow]{name}: skipped[/] — "
                          f"{escape(skipped[name])}")  # fmt: skip
            continue
        table = render_front_table(results, profile) if tty and front(results, name) else None
        if table is not None and console.measure(table).minimum <= console.width:
            console.print(table)
        elif front(results, name):
            for line in plain_front_lines(results, profile):
                console.print(escape(line) if tty else line)
        else:
            text = f"{name}: {why_nothing_feasible(results, name)}"
            console.print(f"[red]{escape(text)}[/]" if tty else text)
        lines = [f"  infeasible {label(r)}: {'; '.join(broken_budgets(r))}" for r in ours
                 if r.feasibility == "infeasible"]  # fmt: skip
        lines += [f"  undecided {label(r)}: {'; '.join(open_budgets(r))}" for r in ours if r.feasibility == "undecided"]
        lines += [f"  failed {label(r)}: {_last_line(r.error)}" for r in ours if r.status == "failed"]
        lines += [f"  disturbed {label(r)}: {disturbance(r)} through every attempt; its latency reads high"
                  for r in ours if r.disturbed]  # fmt: skip
        for line in lines:
            console.print(escape(line) if tty else line)


def _console() -> Any:
    from rich.console import Console

    return Console()


def _last_line(text: str | None) -> str:
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    if not lines:
        return "no error message"
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def print_outcome(outcome: Any) -> None:
    print_fronts(list(outcome.results), dict(outcome.profiles))
    files = ", ".join(sorted(p.name for p in outcome.files.values()))
    _plain().print(f"results: {outcome.run_dir}/ ({files})")


def print_result_file(meta: dict[str, Any], results: list[Any], path: Path) -> None:
    """`archbench show`: a finished run's machine, fronts and verdicts, from its result.json alone."""
    from archbench.config import HardwareProfile
    from archbench.errors import ConfigError

    try:
        profiles = {name: HardwareProfile.model_validate(p) for name, p in (meta.get("profiles") or {}).items()}
    except (ValueError, TypeError) as exc:
        raise ConfigError(path, "profiles", f"not valid profiles: {exc}".splitlines()[0]) from None
    run, env = meta.get("run", {}), meta.get("environment", {})
    out = _plain()
    out.print(f"run {run.get('run_id', '?')} ({'complete' if run.get('complete') else 'incomplete'}), "
              f"{len(results)} results; {env.get('cpu_model', '?')}, {env.get('logical_cores', '?')} cores")
    print_fronts(results, profiles)


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
    """Per profile, one row per candidate with a cell per run: a table on a terminal wide enough for it
    unwrapped, plain rows otherwise (CI logs, `> file`, a narrow window)."""
    from rich.markup import escape
    from rich.table import Table

    from archbench import compare

    tty = is_terminal()
    console = _console() if tty else _plain()
    labels = [compare.run_label(p, meta) for p, (_, meta, _) in zip(paths, runs, strict=True)]
    if len(set(labels)) < len(labels):  # same run id in two folders: name them by their folders
        labels = [str(p.parent) for p in paths]
    labelled = [(label, meta, results) for label, (_, meta, results) in zip(labels, runs, strict=True)]
    machines = {meta.get("run", {}).get("machine") for _, meta, _ in labelled}
    for label, meta, _ in labelled:
        line = f"{label}: {compare.machine_line(meta)}"
        console.print(f"[bold]{escape(label)}[/]: {escape(compare.machine_line(meta))}" if tty else line)
    if len(machines) > 1:
        warning = "runs come from different machines: differences include the hardware"
        console.print(f"[yellow]{warning}[/]" if tty else warning)
    for name in compare.profiles_in(labelled):
        pct = compare.percentile_of(labelled, name)
        title = f"{name}: accuracy | latency {pct} | peak memory  (★ front, ✗ infeasible, ? undecided)"
        table = Table(title=escape(title))
        table.add_column("candidate/variant")
        for label, _, _ in labelled:
            table.add_column(escape(label))
        rows = compare.rows(labelled, name)
        for row in rows:
            table.add_row(escape(f"{row['candidate']}/{row['variant']}"),
                          *[escape(compare.cell_text(c, pct)) for c in row["cells"]])  # fmt: skip
        if tty and console.measure(table).maximum <= console.width:
            console.print(table)
            continue
        console.print(escape(title) if tty else title)
        for row in rows:
            cells = "; ".join(f"{label}: {compare.cell_text(c, pct)}"
                              for (label, _, _), c in zip(labelled, row["cells"], strict=True))  # fmt: skip
            line = f"  {row['candidate']}/{row['variant']}: {cells}"
            console.print(escape(line) if tty else line)
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


def print_trial(number: int, done: int, budget: int | None, r: Any, values: dict[str, Any], profile: Any) -> None:
    """One finished trial as one plain line: its number, the values sampled, then the result line."""
    shown = ", ".join(f"{k}={fmt.num(v) if isinstance(v, float) else v}" for k, v in values.items())
    head = f"trial {number} [{done}/{budget if budget is not None else '?'}] {r.candidate}/{r.variant} ({shown})"
    _plain().print(f"{head}: " + result_line(done, budget or 0, r, profile).split(": ", 1)[1])


def print_search(outcome: Any, profile: Any) -> None:
    print_fronts(list(outcome.results), {profile.name: profile})
    out = _plain()
    study = outcome.study
    hv = f", hypervolume {outcome.hypervolume[-1]:.3f}" if outcome.hypervolume else ""
    out.print(f"study {study.study_name}: {len(outcome.results)} trials in this front ({outcome.measured_here} "
              f"measured now){hv}" + ("" if outcome.complete else ", incomplete"))  # fmt: skip
    if outcome.left_out:
        out.print(f"{outcome.left_out} trials measured on other machines left out (--across-machines to include)")
    files = ", ".join(sorted(p.name for p in outcome.files.values()))
    out.print(f"results: {outcome.run_dir}/ ({files})")
