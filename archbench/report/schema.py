"""result.json: the versioned schema, its writer and its reader (one reader per major version).

Schema 1.x: {schema_version, archbench_version, run, environment, profiles, results, fronts, notes}.
A minor version adds optional fields only, so every 1.x file reads with the same reader; fields a
newer minor version added and this archbench does not know are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import archbench
from archbench import atomic
from archbench.config import HardwareProfile
from archbench.errors import ConfigError
from archbench.pareto import front, why_nothing_feasible
from archbench.report.common import label
from archbench.result import Result

RESULT_JSON = "result.json"


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
    fronts = {name: [label(r) for r in front(results, name)] for name in profiles}
    notes = {name: why_nothing_feasible(results, name) for name, labels in fronts.items() if not labels}
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
    if not isinstance(version, str):
        raise ConfigError(path, "schema_version", "missing; not an archbench result file")
    reader = READERS.get(version.split(".")[0])
    if reader is None:
        readable = ", ".join(f"{major}.x" for major in READERS)
        raise ConfigError(path, "schema_version", f"{version} is not readable by this archbench (reads {readable})")
    return reader(path, doc)


def _read_v1(path: Path, doc: dict[str, Any]) -> tuple[dict[str, Any], list[Result]]:
    raw = doc.get("results", [])
    if not isinstance(raw, list):
        raise ConfigError(path, "results", "expected a list")
    results = []
    for i, item in enumerate(raw):
        try:
            results.append(_result_from_v1(item))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(path, f"results.{i}", f"not a valid result: {exc}") from None
    meta = {k: v for k, v in doc.items() if k != "results"}
    return meta, results


def _result_from_v1(item: Any) -> Result:
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
    if result.throughput_interval and result.throughput_interval[1] is None:
        result.throughput_interval[1] = math.inf
    return result


# Major version -> reader. A schema change that old readers cannot skip bumps the major version and
# adds its reader here; the old reader stays, so old result files keep opening.
READERS: dict[str, Callable[[Path, dict[str, Any]], tuple[dict[str, Any], list[Result]]]] = {"1": _read_v1}
