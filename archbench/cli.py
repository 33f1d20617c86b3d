"""The command line: thin. Each command parses, calls the library, prints. No logic of its own."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from archbench.errors import ArchbenchError

app = typer.Typer(
    help="Choose a model architecture for real deployment hardware: measure candidates' accuracy, latency "
    "and memory on hardware profiles and return the Pareto front of feasible models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_CANDIDATES = Path(__file__).parent / "defaults" / "digits.yaml"


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def sweep(
    candidates: Annotated[
        Path | None,
        typer.Option("--candidates", "-c", help="Candidates YAML file (default: the embedded digits sweep)."),
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option(
            "--profile", "-p", help="Profile name or YAML path; repeat for several (default: every shipped profile)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory.")] = Path("results"),
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a timestamp). Reusing one resumes it.")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore cached builds and measurements.")] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache directory (default: $ARCHBENCH_CACHE or ~/.cache/archbench).")
    ] = None,
) -> None:
    """Train/export candidates, measure them on each profile, write results and the Pareto front."""
    from archbench import console
    from archbench.cache import Cache
    from archbench.config import load_sweep_config
    from archbench.profiles import default_profiles, resolve
    from archbench.sweep import Sweep

    runner = None  # Ctrl-C can come before the sweep exists (while configs load)
    _sigterm_as_interrupt()
    try:
        config_file = candidates or DEFAULT_CANDIDATES
        config = load_sweep_config(config_file)
        refs = profile or config.profiles
        profiles = [resolve(r) for r in refs] if refs else default_profiles()
        runner = Sweep(config, profiles, out, Cache(cache_dir, enabled=not fresh), run_id, str(config_file))
        outcome = console.run_with_progress(runner)
    except ArchbenchError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        kept = f"finished results kept in {runner.run_dir}; rerun to resume" if runner else "nothing was run"
        typer.echo(f"interrupted: {kept}", err=True)
        raise typer.Exit(130) from None
    console.print_outcome(outcome)


def _sigterm_as_interrupt() -> None:
    """A CI cancel or `timeout` sends SIGTERM: finish like Ctrl-C, writing the report of what is done."""
    import signal

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@app.command()
def profiles(
    name: Annotated[str | None, typer.Argument(help="Show this profile (a name or a YAML path).")] = None,
) -> None:
    """List the shipped and user hardware profiles, or show one."""
    from archbench import console
    from archbench.profiles import available, resolve, user_dir

    try:
        if name is None:
            console.print_profile_list(available(), user_dir())
        else:
            console.print_profile(resolve(name))
    except ArchbenchError as exc:
        _fail(str(exc))


@app.command()
def compare(
    results: Annotated[list[Path], typer.Argument(help="Two or more result.json files (or run directories).")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the overlaid plot here (a .png).")] = None,
) -> None:
    """Compare runs (e.g. the same sweep on two machines): per-profile tables and an overlaid plot."""
    from archbench import console
    from archbench.report import read_result_json

    try:
        paths = [p / "result.json" if p.is_dir() else p for p in results]
        if len(paths) < 2:
            raise ArchbenchError("compare: give at least two result.json files")
        runs = [(str(p), *read_result_json(p)) for p in paths]
        console.print_compare(runs, paths, out)
    except ArchbenchError as exc:
        _fail(str(exc))


@app.command()
def show(
    result: Annotated[Path, typer.Argument(help="result.json of a finished run (or its run directory).")],
) -> None:
    """Print a finished run's fronts and verdicts again, from its result.json; measures nothing."""
    from archbench import console
    from archbench.report import read_result_json

    try:
        path = result / "result.json" if result.is_dir() else result
        meta, results = read_result_json(path)
        console.print_result_file(meta, results, path)
    except ArchbenchError as exc:
        _fail(str(exc))


@app.command()
def gate(
    result: Annotated[Path, typer.Argument(help="result.json (or its run directory) of the candidate run.")],
    choose: Annotated[
        str | None, typer.Option("--choose", help="The chosen model, CANDIDATE/VARIANT (default: archbench.yaml).")
    ] = None,
    profile: Annotated[
        list[str] | None,
        typer.Option("--profile", "-p", help="Profiles that must hold (default: every chosen/measured profile)."),
    ] = None,
    baseline: Annotated[Path | None, typer.Option(help="A previous result.json: fail on a regression.")] = None,
    tolerance: Annotated[float | None, typer.Option(help="Allowed relative latency/memory regression [0.05].")] = None,
    accuracy_tolerance: Annotated[
        float | None, typer.Option(help="Allowed accuracy drop, absolute (0.01 = one point) [0.01].")
    ] = None,
    confidence: Annotated[
        float | None, typer.Option(help="1 - false-alarm rate of every regression test [0.99].")
    ] = None,
    strict: Annotated[
        bool | None, typer.Option(help="Also fail when a regression above the tolerance cannot be ruled out.")
    ] = None,
    config: Annotated[
        Path, typer.Option("--config", help="Selection file: chosen model per profile and gate settings.")
    ] = Path("archbench.yaml"),
    fmt: Annotated[str, typer.Option("--format", help="Output: text or markdown (a PR comment).")] = "text",
    samples: Annotated[
        int | None, typer.Option(min=5, help="Re-measure just the chosen model at this fixed sample count.")
    ] = None,
) -> None:
    """Fail (exit 1) when the chosen model is infeasible, dominated, or regressed against a baseline.

    With no --choose, the chosen model per profile (and baseline, tolerances) come from archbench.yaml.
    """
    from archbench import console
    from archbench.errors import ConfigError
    from archbench.gate import Selection, read_selection, verdict
    from archbench.gate import gate as run_gate
    from archbench.report import read_result_json

    try:
        if fmt not in {"text", "markdown"}:
            raise ConfigError("--format", "format", f"{fmt!r} must be text or markdown")
        if choose is not None:
            sel = Selection({"*": choose})
        elif config.exists():
            sel = read_selection(config)
        else:
            raise ConfigError(config, "<file>", "no such file; give --choose CANDIDATE/VARIANT or write archbench.yaml")
        path = result / "result.json" if result.is_dir() else result
        meta, results = read_result_json(path)
        if samples is not None:  # more samples for the chosen model alone, then judge again
            from archbench.config import HardwareProfile
            from archbench.pareto import evaluate
            from archbench.remeasure import remeasure_chosen

            results = remeasure_chosen(path, meta, sel.choose, profile, samples)
            profiles = {n: HardwareProfile.model_validate(p) for n, p in (meta.get("profiles") or {}).items()}
            results = evaluate(results, profiles, meta.get("run", {}).get("test_labels"))
        base_path = baseline or sel.baseline
        base = None
        if base_path is not None:
            base = read_result_json(base_path / "result.json" if base_path.is_dir() else base_path)
        tol = sel.tolerance if tolerance is None else tolerance
        acc_tol = sel.accuracy_tolerance if accuracy_tolerance is None else accuracy_tolerance
        conf = sel.confidence if confidence is None else confidence
        checks = run_gate(results, meta, sel.choose, profile, path, base, tol, conf, acc_tol)
    except ArchbenchError as exc:
        _fail(str(exc))
    passed = verdict(checks, sel.strict if strict is None else strict)
    console.print_gate(checks, passed, fmt)
    raise typer.Exit(0 if passed else 1)


@app.command()
def search(
    candidates: Annotated[
        Path, typer.Option("--candidates", "-c", help="Search file: a candidates YAML with a `search:` block.")
    ],
    profile: Annotated[str, typer.Option("--profile", "-p", help="The profile to search for (name or YAML path).")],
    trials: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Trials in the study, all workers together [20].")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(min=1, help="Stop starting trials after this many seconds (this worker).")
    ] = None,
    sampler: Annotated[
        str, typer.Option(help="nsga2, tpe, random, or grid (every point of a finite space).")
    ] = "nsga2",
    seed: Annotated[int, typer.Option(help="Sampler seed.")] = 0,
    out: Annotated[Path, typer.Option("--out", "-o", help="Results directory.")] = Path("results"),
    run_id: Annotated[
        str | None, typer.Option(help="Run id (default: search-<space hash>: rerunning the command resumes).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage URL, e.g. postgresql://user:pw@host/db (default: SQLite in the run dir)."),
    ] = None,
    study: Annotated[str | None, typer.Option(help="Study name in the storage (default: the run id).")] = None,
    across_machines: Annotated[
        bool, typer.Option("--across-machines", help="Put trials measured on other machines into this front.")
    ] = False,
    heartbeat: Annotated[
        int, typer.Option(min=1, max=3600, help="Seconds between heartbeats; a trial silent 3x this is retried.")
    ] = 10,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore cached builds and measurements.")] = False,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache directory (default: $ARCHBENCH_CACHE or ~/.cache/archbench).")
    ] = None,
) -> None:
    """Search a space of candidates (Optuna) for the front of feasible models on one profile.

    Several workers (terminals, machines) can fill one study: give each the same --storage and --study.
    """
    from archbench import console
    from archbench.cache import Cache
    from archbench.profiles import resolve
    from archbench.search import Search, SearchSettings
    from archbench.search_space import load_search_space

    _sigterm_as_interrupt()
    runner = None
    try:
        space = load_search_space(candidates)
        prof = resolve(profile)
        settings = SearchSettings(sampler=sampler, trials=trials, timeout_s=timeout, seed=seed, storage=storage,
                                  study=study, heartbeat_s=heartbeat, across_machines=across_machines)  # fmt: skip
        runner = Search(space, prof, settings, out, Cache(cache_dir, enabled=not fresh), run_id,
                        on_trial=lambda *a: console.print_trial(*a, prof))  # fmt: skip
        outcome = runner.run()
    except ArchbenchError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        kept = f"finished trials kept in {runner.run_dir}; rerun to resume" if runner else "nothing was run"
        typer.echo(f"interrupted: {kept}", err=True)
        raise typer.Exit(130) from None
    console.print_search(outcome, prof)


@app.command()
def audit(
    result: Annotated[Path, typer.Argument(help="Run directory (or its result.json) of a finished sweep.")],
    candidate: Annotated[
        list[str] | None,
        typer.Option("--candidate", help="Model NAME/VARIANT; repeat for several (default: every front member)."),
    ] = None,
    split: Annotated[str, typer.Option(help="Samples to audit: test, train or both.")] = "test",
    threshold: Annotated[float, typer.Option(min=1.0, help="Flag at loss >= this x the median loss.")] = 10.0,
    agree: Annotated[
        str, typer.Option(help="Flag when 'all' chosen models find the loss too high, or a strict 'majority'.")
    ] = "all",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache directory (default: $ARCHBENCH_CACHE or ~/.cache/archbench).")
    ] = None,
) -> None:
    """Rank samples by the run's models' loss on their given label: likely mislabelled ones first (audit.csv)."""
    from archbench.audit import audit as run_audit
    from archbench.audit import summary_lines, write_audit_csv
    from archbench.cache import Cache
    from archbench.errors import ConfigError
    from archbench.rundata import front_labels, load_models, open_run

    try:
        if split not in {"test", "train", "both"}:
            raise ConfigError("--split", "split", f"{split!r} must be test, train or both")
        if agree not in {"all", "majority"}:
            raise ConfigError("--agree", "agree", f"{agree!r} must be all or majority")
        run = open_run(result, Cache(cache_dir))
        models = load_models(run, candidate or front_labels(run))
        if not models:
            raise ConfigError(run.path, "fronts", "no front members: choose models with --candidate NAME/VARIANT")
        outcome = run_audit(run, models, ["test", "train"] if split == "both" else [split], threshold, agree=agree)
        path = write_audit_csv(run, outcome)
    except ArchbenchError as exc:
        _fail(str(exc))
    typer.echo("\n".join(summary_lines(outcome)))
    typer.echo(f"wrote {path}")


@app.command()
def check(
    result: Annotated[Path, typer.Argument(help="Run directory (or its result.json) of a finished sweep.")],
    batch: Annotated[Path, typer.Option("--batch", help="New labelled batch in the task's format (CSV, JSONL, .npz).")],
    candidate: Annotated[
        str | None, typer.Option("--candidate", help="Model NAME/VARIANT (default: best front member, first profile).")
    ] = None,
    tolerance: Annotated[float, typer.Option(min=0.0, max=1.0, help="Allowed drop below the test set's value.")] = 0.03,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache directory (default: $ARCHBENCH_CACHE or ~/.cache/archbench).")
    ] = None,
) -> None:
    """Score a new labelled batch per slice against the test set; exit 1 when a slice dropped (check.md)."""
    from archbench.cache import Cache
    from archbench.check import check as run_check
    from archbench.check import summary_lines, write_check
    from archbench.rundata import best_on_first_profile, load_models, open_run

    try:
        run = open_run(result, Cache(cache_dir))
        model = load_models(run, [candidate or best_on_first_profile(run)])[0]
        outcome = run_check(run, model, batch, tolerance)
        paths = write_check(run, outcome)
    except ArchbenchError as exc:
        _fail(str(exc))
    typer.echo("\n".join(summary_lines(outcome)))
    typer.echo(f"wrote {paths[0]} and {paths[1]}")
    raise typer.Exit(1 if outcome.dropped else 0)


def main() -> None:
    try:
        app()
    except ArchbenchError as exc:  # anything a command forgot to translate still gets one line
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
