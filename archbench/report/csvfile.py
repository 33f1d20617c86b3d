"""results.csv: one flat row per result, for spreadsheets and pandas (full precision, not for people)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archbench import fmt
from archbench.config import HardwareProfile
from archbench.report.common import accuracy_interval, percentile_bounds, run_queue_share
from archbench.report.schema import atomic_write_text
from archbench.result import Result

RESULTS_CSV = "results.csv"

CSV_COLUMNS = (
    "candidate",
    "variant",
    "profile",
    "status",
    "feasibility",
    "on_front",
    "metric",
    "accuracy",
    "accuracy_low",
    "accuracy_high",
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
    "throughput_low",
    "throughput_high",
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
    "run_queue_share",
    "disturbed",
    "broken_budgets",
    "error",
)



def _num(value: Any) -> Any:
    """CSV cell for a number: empty when missing, repr otherwise (inf stays 'inf', readable by pandas)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def _broken(r: Result) -> list[str]:
    return [f"{v.budget}: {'not measured' if v.value is None else fmt.num(v.value, 4)} vs {fmt.num(v.limit, 4)}"
            for v in r.verdicts if v.status == "fail"]  # fmt: skip


def _slice_cell(r: Result) -> str:
    """'long=0.75 (n=4); short=0.9 (n=6)': every slice's accuracy with its sample count."""
    return "; ".join(f"{name}={fmt.num(s.get('accuracy'), 4)} (n={s.get('n', '?')})"
                     for name, s in sorted(r.slice_accuracy.items()))  # fmt: skip


def _budget_percentile(r: Result, profiles: dict[str, HardwareProfile]) -> str | None:
    profile = profiles.get(r.profile)
    if profile is not None:
        return profile.budget.percentile
    return r.latency_decision.percentile if r.latency_decision else None


def _row(r: Result, profiles: dict[str, HardwareProfile]) -> dict[str, Any]:
    percentile = _budget_percentile(r, profiles)
    lower, upper = percentile_bounds(r, percentile)
    lat, mem = r.latency, r.memory
    ci = accuracy_interval(r) or (None, None)
    return {
        "candidate": r.candidate,
        "variant": r.variant,
        "profile": r.profile,
        "status": r.status,
        "feasibility": r.feasibility,
        "on_front": r.on_front,
        "metric": r.metric,  # what the accuracy columns hold
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
        "throughput_low": _num((r.throughput_interval or [None, None])[0]),
        "throughput_high": _num((r.throughput_interval or [None, None])[1]),
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
        "run_queue_share": _num(run_queue_share(r)),
        "disturbed": r.disturbed,
        "broken_budgets": "; ".join(_broken(r)),
        "error": r.error or "",
        "accuracy_low": _num(ci[0]),
        "accuracy_high": _num(ci[1]),
    }


def write_csv(run_dir: str | Path, results: Sequence[Result], profiles: dict[str, HardwareProfile]) -> Path:
    """results.csv: one flat row per result."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        writer.writerow(_row(r, profiles))
    return atomic_write_text(Path(run_dir) / RESULTS_CSV, buf.getvalue())
