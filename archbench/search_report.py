"""A search's report: the sweep's four files over every trial of the study measured on this machine
(or every machine with --across-machines), and hypervolume.png, the feasible front's hypervolume after
each trial. Trials measured by other workers come from the study's storage (user attr `result`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbench.config import HardwareProfile
from archbench.result import Result

HYPERVOLUME_PNG = "hypervolume.png"


def compact(result: Result) -> dict[str, Any]:
    """A Result small enough for a study's user attrs: everything but the raw latency samples."""
    data = result.to_dict()
    data["latency_samples_ms"] = []
    kept = ("build_key", "spec_key", "search", "throughput_basis", "process_bounds_ms")  # verdict details
    data["meta"] = {k: v for k, v in data.get("meta", {}).items() if k in kept}
    return data


def masked_url(url: str) -> str:
    from archbench.search_storage import masked

    return masked(url)


def scale(profile: HardwareProfile, results: Sequence[Result]) -> tuple[float, float, float]:
    """The reference point of the hypervolume, per objective (error, latency, memory): the budget where
    there is one (a feasible point lies inside it), else the largest value measured."""
    from archbench.search import objectives
    from archbench.verdicts import latency_limit_ms

    b = profile.budget
    measured = [objectives(r, profile) for r in results if r.status == "ok"]
    limit = latency_limit_ms(profile)
    latency = limit if limit else max((m[1] for m in measured), default=1.0)
    memory = b.memory_mb or max((m[2] for m in measured), default=1.0)
    error = 1 - b.min_accuracy if b.min_accuracy else 1.0
    return (error or 1.0, latency or 1.0, memory or 1.0)


def hypervolume_history(results: Sequence[Result], profile: HardwareProfile,
                        ref: tuple[float, float, float] | None = None) -> list[float]:  # fmt: skip
    """The feasible front's normalised hypervolume after each result (in the given order)."""
    from archbench import hypervolume
    from archbench.search import objectives

    ref = ref or scale(profile, results)
    points = []
    for r in results:
        if r.feasibility != "feasible":
            points.append(None)
            continue
        acc, latency, memory = objectives(r, profile)
        points.append((1 - acc, latency, memory))
    return hypervolume.history(points, ref)


def write_hypervolume_png(path: Path, series: dict[str, Sequence[float]], title: str,
                          reference: float | None = None) -> Path:  # fmt: skip
    """One line per series (a sampler, or this search); an optional horizontal reference (the grid's)."""
    from archbench.report import plotkit

    fig = plotkit.new_figure(6.4, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    for label, values in series.items():
        ax.plot(range(1, len(values) + 1), list(values), label=label, drawstyle="steps-post")
    if reference is not None:
        ax.axhline(reference, color="0.5", linestyle="--", label="exhaustive front")
    ax.set_xlabel("trials")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are whole
    ax.set_ylabel("hypervolume (normalised by the budgets)")
    ax.set_title(title, fontsize=9)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return plotkit.save_png(fig, path)


class SearchReport:
    def __init__(self, run_dir: Path, run_id: str, profile: HardwareProfile, environment: dict[str, Any],
                 machine: str, info: dict[str, Any], y_true: list[int], across_machines: bool) -> None:  # fmt: skip
        self.run_dir, self.run_id, self.profile, self.environment = run_dir, run_id, profile, environment
        self.machine, self.info, self.y_true, self.across = machine, info, y_true, across_machines
        self.here: dict[int, Result] = {}  # full results of the trials this worker measured

    def keep(self, number: int, result: Result) -> None:
        self.here[number] = result

    def results(self, study: Any) -> tuple[list[Result], int]:
        """(the trials of this front in trial order, how many were measured on other machines)."""
        results: list[Result] = []
        others = 0
        for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
            if "result" not in t.user_attrs or not t.state.is_finished():
                continue
            if t.user_attrs.get("machine") != self.machine and not self.across:
                others += 1
                continue
            stored = t.user_attrs["result"]
            result = self.here.get(t.number) or self._local(t.number) or Result.from_dict(stored)
            result.meta.setdefault("search", stored.get("meta", {}).get("search"))  # the trial's values, machine
            results.append(result)
        return results, others

    def _local(self, number: int) -> Result | None:
        """The full result (with latency samples) of a trial measured here by an earlier run."""
        from archbench.errors import ConfigError
        from archbench.report import read_result_json

        path = self.run_dir / "trials" / f"t{number:04d}" / "result.json"
        if not path.exists():
            return None
        try:
            meta, results = read_result_json(path)
        except ConfigError:
            return None
        if meta.get("run", {}).get("machine") != self.machine or len(results) != 1:
            return None
        return results[0]

    def write(self, study: Any, complete: bool) -> Any:
        from archbench import report
        from archbench.cache import file_lock
        from archbench.pareto import evaluate
        from archbench.search import SearchOutcome

        results, others = self.results(study)
        profiles = {self.profile.name: self.profile}
        evaluate(results, profiles, self.y_true)
        history = hypervolume_history(results, self.profile)
        info = {**self.info, "trials_in_front": len(results), "other_machines_left_out": others,
                "across_machines": self.across, "hypervolume": history}  # fmt: skip
        run_info = {"run_id": self.run_id, "machine": self.machine, "search": info, "complete": complete}
        with file_lock(self.run_dir / ".result.lock"):  # another worker on this machine may write too
            files = report.write_all(self.run_dir, results, profiles, self.environment, run_info, complete)
            if history:
                title = f"{self.profile.name}: hypervolume of the feasible front ({info['sampler']})"
                with contextlib.suppress(Exception):  # a plot is a convenience; result.json holds the history
                    files["hypervolume_png"] = write_hypervolume_png(self.run_dir / HYPERVOLUME_PNG,
                                                                     {info["sampler"]: history}, title)  # fmt: skip
        return SearchOutcome(self.run_dir, results, files, study, left_out=others, hypervolume=history,
                             complete=complete)  # fmt: skip
