"""Report files of a run: result.json (versioned schema), results.csv, summary.md, pareto.png.

Importing this module is cheap: matplotlib and rich are imported inside the functions that draw.
Writers take results already evaluated by archbench.pareto.evaluate (verdicts, feasibility and front
membership set) and never change them. Every file is written atomically, so an interrupted run never
leaves a half-written report behind.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import archbench
from archbench import atomic
from archbench.config import HardwareProfile
from archbench.errors import ConfigError
from archbench.pareto import front, upstream_accuracy, upstream_latency_ms, why_nothing_feasible
from archbench.result import BudgetVerdict, Result

if TYPE_CHECKING:
    from rich.table import Table

RESULT_JSON = "result.json"
RESULTS_CSV = "results.csv"
SUMMARY_MD = "summary.md"
PARETO_PNG = "pareto.png"

CSV_COLUMNS = (
    "candidate",
    "variant",
    "profile",
    "status",
    "feasibility",
    "on_front",
    "accuracy",
    "pipeline_accuracy",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_mean_ms",
    "latency_iqr_ms",
    "budget_percentile",
    "budget_percentile_lower_ms",
    "budget_percentile_upper_ms",
    "throughput",
    "peak_rss_mb",
    "inference_added_mb",
    "process_peak_mb",
    "gpu_peak_mb",
    "model_mb",
    "params",
    "tokenizer_p50_ms",
    "model_p50_ms",
    "slice_accuracy",
    "padding_policy",
    "n_samples",
    "unstable",
    "host_slowdown",
    "disturbed",
    "broken_budgets",
    "error",
)


# ---- atomic writes and strict JSON -------------------------------------------------------------


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text (UTF-8) so that readers see either the old file or the whole new one, never a part."""
    return atomic.write_text(path, text)


def json_safe(obj: Any) -> Any:
    """A copy of obj that json.dumps(allow_nan=False) accepts: inf/nan become None (strict JSON has
    no spelling for them), tuples become lists, keys become strings, numpy scalars/arrays plain values."""
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):  # numpy.float64 is a float subclass
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=str) if isinstance(obj, (set, frozenset)) else obj
        return [json_safe(v) for v in items]
    if isinstance(obj, Path):
        return str(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: json_safe(getattr(obj, f.name)) for f in fields(obj)}
    if hasattr(obj, "model_dump"):  # pydantic models
        return json_safe(obj.model_dump(mode="json"))
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, without importing numpy
        return json_safe(obj.tolist())
    return str(obj)


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    """Write obj as strict JSON (non-finite floats become null), atomically."""
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False, ensure_ascii=False)
    return atomic_write_text(path, text + "\n")


# ---- result.json -------------------------------------------------------------------------------


def _label(r: Result) -> str:
    return f"{r.candidate}/{r.variant}"


def _profile_names(results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> list[str]:
    """Profiles in the caller's order, then any profile a result names that the caller did not pass."""
    names = list(profiles)
    names += [p for p in dict.fromkeys(r.profile for r in results) if p not in profiles]
    return names


def _fronts_and_notes(
    results: Sequence[Result], profiles: dict[str, HardwareProfile]
) -> tuple[dict[str, list[str]], dict[str, str]]:
    fronts = {name: [_label(r) for r in front(results, name)] for name in profiles}
    notes = {name: why_nothing_feasible(results, name) for name, labels in fronts.items() if not labels}
    return fronts, notes


def write_result_json(
    run_dir: str | Path,
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    run_info: dict[str, Any],
    complete: bool,
) -> Path:
    """result.json: everything needed to re-analyse the run later, raw latency samples included."""
    results = list(results)
    fronts, notes = _fronts_and_notes(results, profiles)
    doc = {
        "schema_version": archbench.SCHEMA_VERSION,
        "archbench_version": archbench.__version__,
        "run": {**run_info, "complete": complete},
        "environment": environment,
        "profiles": {name: p.model_dump(mode="json") for name, p in profiles.items()},
        "results": [r.to_dict() for r in results],
        "fronts": fronts,
        "notes": notes,
    }
    return atomic_write_json(Path(run_dir) / RESULT_JSON, doc)


def read_result_json(path: str | Path) -> tuple[dict[str, Any], list[Result]]:
    """(everything but the results, the results). Any unreadable or foreign file is a ConfigError."""
    from archbench.userfiles import read_user_text

    path = Path(path)
    text = read_user_text(path, "result.json", allow_empty=True)
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(path, "<json>", f"invalid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(path, "<root>", f"expected a JSON object, got {type(doc).__name__}")
    version = doc.get("schema_version")
    expected_major = archbench.SCHEMA_VERSION.split(".")[0]
    if not isinstance(version, str):
        raise ConfigError(path, "schema_version", "missing; not an archbench result file")
    if version.split(".")[0] != expected_major:
        raise ConfigError(
            path, "schema_version", f"{version} is not readable by this archbench (reads {expected_major}.x)"
        )
    raw = doc.get("results", [])
    if not isinstance(raw, list):
        raise ConfigError(path, "results", "expected a list")
    results = []
    for i, item in enumerate(raw):
        try:
            results.append(_result_from_json(item))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(path, f"results.{i}", f"not a valid result: {exc}") from None
    meta = {k: v for k, v in doc.items() if k != "results"}
    return meta, results


def _result_from_json(item: Any) -> Result:
    if not isinstance(item, dict):
        raise TypeError(f"expected an object, got {type(item).__name__}")
    result = Result.from_dict(item)
    # Writing turned infinities into null; put back the ones whose meaning is "unbounded" so that
    # arithmetic on them (relative_excess, bound comparisons) works as it did before writing.
    for v in result.verdicts:
        if v.constraint is None:
            v.constraint = math.inf
    d = result.latency_decision
    if d is not None:
        if d.lower_ms is None:
            d.lower_ms = -math.inf
        if d.upper_ms is None:
            d.upper_ms = math.inf
    return result


# ---- results.csv -------------------------------------------------------------------------------


def _num(value: Any) -> Any:
    """CSV cell for a number: empty when missing, repr otherwise (inf stays 'inf', readable by pandas)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def _fmt(value: float | None, spec: str = ".4g") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def _broken(r: Result) -> list[str]:
    out = []
    for v in r.verdicts:
        if v.status == "fail":
            value = "not measured" if v.value is None else _fmt(v.value)
            out.append(f"{v.budget}: {value} vs {_fmt(v.limit)}")
    return out


def _slice_cell(r: Result) -> str:
    """'long=0.75 (n=4); short=0.9 (n=6)': every slice's accuracy with its sample count."""
    return "; ".join(f"{name}={_fmt(s.get('accuracy'))} (n={s.get('n', '?')})"
                     for name, s in sorted(r.slice_accuracy.items()))  # fmt: skip


def _percentile_bounds(r: Result, percentile: str | None) -> tuple[float | None, float | None]:
    d = r.latency_decision
    if d is None or percentile is None or d.percentile != percentile:
        return None, None
    return d.lower_ms, d.upper_ms


def _budget_percentile(r: Result, profiles: dict[str, HardwareProfile]) -> str | None:
    profile = profiles.get(r.profile)
    if profile is not None:
        return profile.budget.percentile
    return r.latency_decision.percentile if r.latency_decision else None


def write_csv(run_dir: str | Path, results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> Path:
    """results.csv: one flat row per result, for spreadsheets and pandas."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        percentile = _budget_percentile(r, profiles)
        lower, upper = _percentile_bounds(r, percentile)
        lat, mem = r.latency, r.memory
        row = {
            "candidate": r.candidate,
            "variant": r.variant,
            "profile": r.profile,
            "status": r.status,
            "feasibility": r.feasibility,
            "on_front": r.on_front,
            "accuracy": _num(r.accuracy),
            "pipeline_accuracy": _num(r.pipeline_accuracy),
            "latency_p50_ms": _num(lat.get("p50")),
            "latency_p90_ms": _num(lat.get("p90")),
            "latency_p95_ms": _num(lat.get("p95")),
            "latency_p99_ms": _num(lat.get("p99")),
            "latency_mean_ms": _num(lat.get("mean")),
            "latency_iqr_ms": _num(lat.get("iqr")),
            "budget_percentile": percentile or "",
            "budget_percentile_lower_ms": _num(lower),
            "budget_percentile_upper_ms": _num(upper),
            "throughput": _num(r.throughput),
            "peak_rss_mb": _num(mem.get("peak_rss_mb")),
            "inference_added_mb": _num(mem.get("inference_added_mb")),
            "process_peak_mb": _num(mem.get("process_peak_mb")),
            "gpu_peak_mb": _num(mem.get("gpu_peak_mb")),
            "model_mb": _num(r.model_mb),
            "params": _num(r.params),
            "tokenizer_p50_ms": _num(r.stage_latency_ms.get("tokenizer_p50")),
            "model_p50_ms": _num(r.stage_latency_ms.get("model_p50")),
            "slice_accuracy": _slice_cell(r),
            "padding_policy": r.meta.get("padding_policy") or "",
            "n_samples": len(r.latency_samples_ms) or _num(lat.get("n")),
            "unstable": r.unstable,
            "host_slowdown": _num(r.host_slowdown),
            "disturbed": r.disturbed,
            "broken_budgets": "; ".join(_broken(r)),
            "error": r.error or "",
        }
        writer.writerow(row)
    return atomic_write_text(Path(run_dir) / RESULTS_CSV, buf.getvalue())


# ---- summary.md --------------------------------------------------------------------------------


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


def _accuracy(r: Result, profile: HardwareProfile | None) -> float | None:
    """The accuracy budgets and the front use: the pipeline's when upstream stages exist."""
    return r.pipeline_accuracy if profile is not None and profile.upstream else r.accuracy


def budget_line(profile: HardwareProfile) -> str:
    """All budgets of a profile on one line, e.g. 'latency p95 ≤ 10 ms · memory ≤ 200 MB'."""
    b = profile.budget
    parts = []
    if b.latency_ms is not None:
        up = upstream_latency_ms(profile)
        extra = f" ({b.latency_ms - up:g} ms left after {up:g} ms upstream)" if up else ""
        parts.append(f"latency {b.percentile} ≤ {b.latency_ms:g} ms{extra}")
    if b.memory_mb is not None:
        parts.append(f"memory ≤ {b.memory_mb:g} MB")
    if b.min_accuracy is not None:
        parts.append(f"{'pipeline ' if profile.upstream else ''}accuracy ≥ {b.min_accuracy:g}")
    if b.max_model_mb is not None:
        parts.append(f"model ≤ {b.max_model_mb:g} MB")
    if b.min_throughput is not None:
        parts.append(f"throughput ≥ {b.min_throughput:g}/s")
    for name, limit in sorted(b.min_slice_accuracy.items()):
        parts.append(f"slice {name} accuracy ≥ {limit:g}")
    return " · ".join(parts) if parts else "none"


def _latency_cell(r: Result, percentile: str) -> str:
    est = r.latency_at(percentile)
    if est is None:
        return "-"
    lower, upper = _percentile_bounds(r, percentile)
    if lower is None or upper is None:
        return _fmt(est)
    return f"{_fmt(est)} [{_fmt(lower)}, {_fmt(upper)}]"


def _relative(v: BudgetVerdict) -> str:
    """How far a failed budget is missed: '100% over' for a ceiling, '38% short' for a floor."""
    rel = v.relative_excess
    if v.value is None or not math.isfinite(rel):
        return "not measured"
    pct = f"{abs(rel):.1%}" if abs(rel) < 0.1 else f"{abs(rel):.0%}"  # "0% short" would read as a pass
    return f"{pct} {'over' if v.value > v.limit else 'short'}"


def _front_table(rows: list[Result], profile: HardwareProfile) -> list[str]:
    pct = profile.budget.percentile
    slices = sorted({name for r in rows for name in r.slice_accuracy})
    counts = {s: next((r.slice_accuracy[s].get("n") for r in rows if s in r.slice_accuracy), "?") for s in slices}
    staged = any(r.stage_latency_ms for r in rows)
    head = ["candidate", "variant", "accuracy"]
    if profile.upstream:
        head.append("pipeline accuracy")
    head += [f"{pct} ms [lower, upper]", "peak MB", "model MB", "throughput /s"]
    if staged:
        head += ["tokenizer p50 ms", "model p50 ms"]
    head += [f"acc[{s}] n={counts[s]}" for s in slices]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [_md(r.candidate), _md(r.variant), _fmt(r.accuracy)]
        if profile.upstream:
            cells.append(_fmt(r.pipeline_accuracy))
        cells += [_latency_cell(r, pct), _fmt(r.peak_memory_mb), _fmt(r.model_mb), _fmt(r.throughput)]
        if staged:
            cells += [_fmt(r.stage_latency_ms.get("tokenizer_p50")), _fmt(r.stage_latency_ms.get("model_p50"))]
        cells += [_fmt(r.slice_accuracy[s].get("accuracy")) if s in r.slice_accuracy else "-" for s in slices]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _pipeline_lines(profile: HardwareProfile, ours: Sequence[Result]) -> list[str]:
    """Upstream stages (they cap what any model can reach) and the padding policy the figures assume."""
    lines = []
    if profile.upstream:
        stages = ", ".join(f"{s.name} ({s.latency_ms:g} ms, accuracy {s.accuracy:g})" for s in profile.upstream)
        lines.append(f"Upstream stages: {_md(stages)}: no model can push pipeline accuracy above "
                     f"{_fmt(upstream_accuracy(profile), '.3g')}.")  # fmt: skip
    policies = sorted({r.meta["padding_policy"].split(";")[0] for r in ours if r.meta.get("padding_policy")})
    lines += [f"Padding: {_md(p)}." for p in policies]
    return ["", *lines] if lines else []


def summary_markdown(
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    *,
    complete: bool = True,
    notes: Sequence[str] = (),
) -> str:
    results = list(results)
    env = environment or {}
    cores = env.get("logical_cores")
    usable = env.get("usable_cores")
    core_text = f"{cores} logical cores" + (f" ({usable} usable)" if usable not in (None, cores) else "")
    mem = env.get("total_memory_mb")
    out = [
        "# archbench results",
        "",
        f"Machine: {_md(env.get('cpu_model', 'unknown CPU'))}, {core_text}, "
        f"{_fmt(mem, '.0f') if mem is not None else '?'} MB memory"
        + (f", GPU: {_md(', '.join(env['gpus']))}" if env.get("gpus") else "")
        + (f" (fingerprint {env['fingerprint']})" if env.get("fingerprint") else ""),
    ]
    if env.get("os"):
        out.append(f"OS: {_md(env['os'])}, Python {env.get('python', '?')}")
    if not complete:
        out += ["", "**Incomplete run**: it was interrupted; only what was measured is reported."]
    out += [f"- note: {_md(n)}" for n in notes]
    out += ["", "![Pareto front](pareto.png)"]
    for name in _profile_names(results, profiles):
        profile = profiles.get(name)
        ours = [r for r in results if r.profile == name]
        out += ["", f"## {_md(name)}", ""]
        if profile is None:
            out.append("(profile definition not available)")
            continue
        threads = f"{profile.threads} thread{'s' if profile.threads != 1 else ''}"
        out.append(f"{profile.device}, {threads}, batch {profile.batch_size}. Budgets: {budget_line(profile)}")
        out += _pipeline_lines(profile, ours)
        rows = front(results, name)
        out.append("")
        if rows:
            out += _front_table(rows, profile)
        else:
            out.append(f"No feasible model: {_md(why_nothing_feasible(results, name))}")
        infeasible = [r for r in ours if r.feasibility == "infeasible"]
        if infeasible:
            out += ["", "Infeasible:"]
            for r in infeasible:
                broken = [
                    f"{v.budget} {_fmt(v.value)} vs {_fmt(v.limit)} ({_relative(v)})"
                    for v in r.verdicts
                    if v.status == "fail"
                ]
                out.append(f"- {_md(_label(r))}: {_md('; '.join(broken))}")
        undecided = [r for r in ours if r.feasibility == "undecided"]
        if undecided:
            out += ["", "Undecided (need more samples or a looser confidence):"]
            for r in undecided:
                open_ = [f"{v.budget}: {v.detail or 'not measured'}" for v in r.verdicts if v.status == "undecided"]
                out.append(f"- {_md(_label(r))}: {_md('; '.join(open_))}")
        disturbed = [r for r in ours if r.disturbed]
        if disturbed:
            out += ["", "Disturbed (the core ran slow through every attempt; latency figures are pessimistic):"]
            for r in disturbed:
                attempts = max(r.meta.get("measure_attempts") or [1])
                out.append(f"- {_md(_label(r))}: reference kernel {_fmt(r.host_slowdown, '.2f')}x slower than the "
                           f"fastest seen, {attempts} attempt{'s' if attempts != 1 else ''}")  # fmt: skip
        failed = [r for r in ours if r.status != "ok"]
        if failed:
            out += ["", "Failed or skipped:"]
            out += [f"- {_md(_label(r))} ({r.status}): {_first_line(r.error)}" for r in failed]
    return "\n".join(out) + "\n"


def write_summary_md(
    run_dir: str | Path,
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    *,
    complete: bool = True,
    notes: Sequence[str] = (),
) -> Path:
    """summary.md: the machine, then per profile its budgets, its front, and why the others lost."""
    text = summary_markdown(results, profiles, environment, complete=complete, notes=notes)
    return atomic_write_text(Path(run_dir) / SUMMARY_MD, text)


# ---- pareto.png --------------------------------------------------------------------------------

_VARIANT_MARKERS = {"torch": "o", "onnx": "s", "onnx-int8": "^", "onnx-int8-pc": "v", "torch-int8": "D"}
_SPARE_MARKERS = ("P", "X", "*", "h", "<", ">", "p")
_STATUS_STYLE = {  # colour, fill style
    "feasible": ("tab:blue", "full"),
    "undecided": ("tab:orange", "left"),
    "infeasible": ("0.55", "none"),
}


def _marker(variant: str, spare: dict[str, str]) -> str:
    if variant in _VARIANT_MARKERS:
        return _VARIANT_MARKERS[variant]
    if variant not in spare:
        spare[variant] = _SPARE_MARKERS[len(spare) % len(_SPARE_MARKERS)]
    return spare[variant]


def _plot_profile(ax: Any, results: list[Result], profile: HardwareProfile, spare: dict[str, str]) -> set[str]:
    """Draw one profile's scatter; returns the variants it used (for the shared legend)."""
    pct = profile.budget.percentile
    threads = f"{profile.threads} thread{'s' if profile.threads != 1 else ''}"
    ax.set_title(f"{profile.name} · {profile.device}, {threads}, batch {profile.batch_size}", fontsize=9)
    measured = [r for r in results if r.status == "ok"]
    points = [
        (r, r.latency_at(pct), _accuracy(r, profile))
        for r in measured
        if (r.latency_at(pct) or 0) > 0 and _accuracy(r, profile) is not None
    ]
    if not points:
        skipped = [r for r in results if r.status == "skipped"]
        text = (skipped[0].error or "skipped") if skipped and len(skipped) == len(results) else "no measured results"
        ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4", wrap=True)
        ax.set_xticks([])
        ax.set_yticks([])
        return set()
    variants: set[str] = set()
    for r, x, y in points:
        status = r.feasibility if r.feasibility in _STATUS_STYLE else "infeasible"
        colour, fill = _STATUS_STYLE[status]
        marker = _marker(r.variant, spare)
        variants.add(r.variant)
        ax.plot(
            [x], [y], linestyle="none", marker=marker, markersize=7, fillstyle=fill,
            color=colour, markeredgecolor=colour, markerfacecoloralt="white", zorder=3,
        )  # fmt: skip
        if r.on_front:  # label the front only: dozens of labels on a log axis are unreadable
            ax.annotate(_label(r), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=6, color="0.2")
        spread = _slice_spread(r, profile)
        if spread:  # worst to best slice, on the same accuracy scale as the point
            ax.plot([x, x], spread, color=colour, linewidth=0.8, alpha=0.6, zorder=2)
    on_front = sorted(((x, y) for r, x, y in points if r.on_front), key=lambda p: p[0])
    if on_front:
        xs, ys = zip(*on_front, strict=True)
        ax.step(xs, ys, where="post", color="tab:blue", linewidth=1.2, alpha=0.8, zorder=2)
    b = profile.budget
    if b.latency_ms is not None:
        limit = b.latency_ms - upstream_latency_ms(profile)
        if limit > 0:
            ax.axvline(limit, color="tab:red", linestyle="--", linewidth=1)
            ax.annotate(
                f"{pct} budget {limit:g} ms", (limit, 0), xycoords=("data", "axes fraction"),
                xytext=(3, 3), textcoords="offset points", fontsize=6, color="tab:red", rotation=90,
            )  # fmt: skip
    if b.min_accuracy is not None:
        ax.axhline(b.min_accuracy, color="tab:red", linestyle="--", linewidth=1)
        ax.annotate(
            f"min accuracy {b.min_accuracy:g}", (0, b.min_accuracy), xycoords=("axes fraction", "data"),
            xytext=(3, 3), textcoords="offset points", fontsize=6, color="tab:red",
        )  # fmt: skip
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    # 1-2-5 ticks with plain labels: latency ranges often span less than a decade.
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    not_plotted = len(results) - len(points)
    # Said under the axis, where no point or budget label can hide it.
    hidden = f"\n{not_plotted} failed, skipped or unmeasured not shown" if not_plotted else ""
    ax.set_xlabel(f"latency {pct} (ms, log scale){hidden}", fontsize=8)
    ax.set_ylabel("pipeline accuracy" if profile.upstream else "accuracy", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, which="both", alpha=0.25)
    return variants


def _slice_spread(r: Result, profile: HardwareProfile) -> tuple[float, float] | None:
    values = [s["accuracy"] for s in r.slice_accuracy.values() if isinstance(s.get("accuracy"), float)
              and math.isfinite(s["accuracy"])]  # fmt: skip
    if len(values) < 2:
        return None
    scale = upstream_accuracy(profile) if profile.upstream else 1.0
    return min(values) * scale, max(values) * scale


def write_pareto_png(run_dir: str | Path, results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> Path:
    """pareto.png: latency at the budget percentile vs accuracy, one panel per profile."""
    # The object-oriented API (Figure, no pyplot) needs no GUI backend and touches no global state,
    # so it is headless-safe without matplotlib.use("Agg"), which would switch a caller's backend.
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    results = list(results)
    names = list(profiles) or ["(no profiles)"]
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(5.2 * ncols, 4.2 * nrows + 0.6), dpi=150, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    spare: dict[str, str] = {}
    variants: set[str] = set()
    for ax, name in zip(axes, names, strict=False):
        if name not in profiles:
            ax.text(0.5, 0.5, "no profiles", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        variants |= _plot_profile(ax, [r for r in results if r.profile == name], profiles[name], spare)
    for ax in axes[len(names) :]:
        ax.set_axis_off()
    handles = [
        Line2D([], [], linestyle="none", marker="o", color=c, fillstyle=f, markerfacecoloralt="white", label=s)
        for s, (c, f) in _STATUS_STYLE.items()
    ]
    handles.append(Line2D([], [], color="tab:blue", label="Pareto front (accuracy, latency, memory)"))
    if any(len(r.slice_accuracy) >= 2 for r in results):
        handles.append(Line2D([], [], color="0.4", linewidth=0.8, label="slice accuracy range"))
    handles += [
        Line2D([], [], linestyle="none", marker=_marker(v, spare), color="0.2", label=v) for v in sorted(variants)
    ]
    per_row = 4 if ncols == 1 else 8  # a single panel is narrow: wrap the legend rather than clip it
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), per_row), fontsize=7, frameon=False)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return atomic.write_bytes(Path(run_dir) / PARETO_PNG, buf.getvalue())


# ---- everything at once ------------------------------------------------------------------------


def write_all(
    run_dir: str | Path,
    results: Sequence[Result],
    profiles: dict[str, HardwareProfile],
    environment: dict[str, Any],
    run_info: dict[str, Any],
    complete: bool,
) -> dict[str, Path]:
    """Write all four report files; returns {"json", "csv", "png", "summary"} -> path (no "png" if it failed).

    The data files go first, so nothing measured is lost if drawing fails; a drawing failure is caught
    and recorded as a note in result.json's run info and in summary.md.
    """
    run_dir = Path(run_dir)
    results = list(results)
    paths = {
        "json": write_result_json(run_dir, results, profiles, environment, run_info, complete),
        "csv": write_csv(run_dir, results, profiles),
    }
    notes: list[str] = []
    try:
        paths["png"] = write_pareto_png(run_dir, results, profiles)
    except Exception as exc:  # a plot is a convenience; the measurements must still be written
        notes.append(f"pareto.png could not be drawn: {type(exc).__name__}: {exc}")
        with contextlib.suppress(OSError):
            (run_dir / PARETO_PNG).unlink()  # a stale plot from an earlier write would mislead
        info = {**run_info, "report_notes": [*run_info.get("report_notes", []), *notes]}
        paths["json"] = write_result_json(run_dir, results, profiles, environment, info, complete)
    paths["summary"] = write_summary_md(run_dir, results, profiles, environment, complete=complete, notes=notes)
    return paths


# ---- terminal ----------------------------------------------------------------------------------


def render_front_table(results: Iterable[Result], profile: HardwareProfile) -> Table:
    """A rich Table of one profile's front, for the terminal; its caption says why when it is empty."""
    from rich.markup import escape
    from rich.table import Table

    results = list(results)
    pct = profile.budget.percentile
    rows = front(results, profile.name)
    # Square brackets are rich markup: escape every text that may contain them.
    table = Table(title=f"{profile.name}: Pareto front", caption=escape(f"budgets: {budget_line(profile)}"))
    table.add_column("candidate")
    table.add_column("variant")
    table.add_column("accuracy", justify="right")
    if profile.upstream:
        table.add_column("pipeline acc", justify="right")
    table.add_column(escape(f"{pct} ms [lower, upper]"), justify="right")
    staged = any(r.stage_latency_ms for r in rows)
    if staged:
        table.add_column("tokenizer p50", justify="right")
    table.add_column("peak MB", justify="right")
    table.add_column("model MB", justify="right")
    table.add_column("items/s", justify="right")
    for r in rows:
        accuracy = [_fmt(r.accuracy)] + ([_fmt(r.pipeline_accuracy)] if profile.upstream else [])
        stage = [_fmt(r.stage_latency_ms.get("tokenizer_p50"))] if staged else []
        table.add_row(
            escape(r.candidate),
            escape(r.variant),
            *accuracy,
            escape(_latency_cell(r, pct)),
            *stage,
            _fmt(r.peak_memory_mb),
            _fmt(r.model_mb),
            _fmt(r.throughput),
        )
    if not rows:
        table.caption = escape(why_nothing_feasible(results, profile.name))
    return table
