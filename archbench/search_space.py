"""Search spaces in YAML: a base candidate (any kind) and the parameters to explore.

A search file is a candidates file with a `search:` block:

    task: {kind: digits}
    train: {epochs: 15}
    search:
      base: {name: mlp, kind: builtin, family: mlp, variants: [onnx]}   # or the name of one of `candidates`
      params:
        layers:  {type: int, low: 1, high: 4}                           # no path: drives `repeat`
        width:   {type: int, low: 8, high: 1024, log: true, path: params.hidden, repeat: layers}
        variant: {type: categorical, choices: [onnx, onnx-int8], path: variants}
        dropout: {type: float, low: 0.0, high: 0.5, path: params.dropout, when: {layers: [2, 3, 4]}}

A parameter sets the base candidate's field at `path` (dotted). `repeat: N` makes a list of N values,
each its own Optuna parameter (`width[0]`, `width[1]`, ...; width[2] exists only when layers > 2).
`when: {P: [values]}` samples the parameter only when P took one of those values. Pure: no torch,
no optuna at import time.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from archbench.config import Candidate, Frozen, SweepConfig, first_error, load_yaml, validate
from archbench.errors import ConfigError

PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
Scalar = str | int | float | bool | None
MAX_GRID = 100_000
FIXED_PATHS = {"name", "kind"}  # what a trial may never change


class ParamSpec(Frozen):
    type: Literal["int", "float", "categorical"]
    low: int | float | None = None
    high: int | float | None = None
    step: int | float | None = None
    log: bool = False
    choices: list[Scalar] | None = None
    path: str | None = Field(None, min_length=1, max_length=200)
    repeat: str | None = None
    when: dict[str, list[Scalar]] | None = None


class SearchBlock(Frozen):
    base: dict[str, Any] | str
    params: dict[str, ParamSpec] = Field(min_length=1)


@dataclass(frozen=True)
class SearchSpace:
    """A validated space: the file's config (task, train; its one candidate is the base) and the parameters."""

    config: SweepConfig
    base: Any  # a config candidate
    params: dict[str, ParamSpec]
    order: tuple[str, ...]  # parameters in dependency order (repeat/when targets first)
    file: str

    # ---- sampling ------------------------------------------------------------------------------

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Ask an Optuna trial for every active parameter; returns name -> value (a list when repeated)."""
        values: dict[str, Any] = {}
        for name in self.order:
            p = self.params[name]
            if not self._active(p, values):
                continue
            if p.repeat:
                values[name] = [_suggest(trial, f"{name}[{i}]", p) for i in range(values[p.repeat])]
            else:
                values[name] = _suggest(trial, name, p)
        return values

    def _active(self, p: ParamSpec, values: dict[str, Any]) -> bool:
        if p.repeat and p.repeat not in values:
            return False
        return all(k in values and values[k] in allowed for k, allowed in (p.when or {}).items())

    def grid(self) -> list[dict[str, Any]]:
        """Every point of a finite space, as Optuna parameter names -> values (for enqueue_trial)."""
        points: list[dict[str, Any]] = [{}]
        for name in self.order:
            p = self.params[name]
            grown: list[dict[str, Any]] = []
            for point in points:
                values = _values_of(point, self.params)
                if not self._active(p, values):
                    grown.append(point)
                    continue
                options = _finite_values(name, p, self.file)
                names = [f"{name}[{i}]" for i in range(values[p.repeat])] if p.repeat else [name]
                for combo in itertools.product(options, repeat=len(names)):
                    grown.append({**point, **dict(zip(names, combo, strict=True))})
                if len(grown) > MAX_GRID:
                    raise ConfigError(self.file, "search.params", f"the grid has more than {MAX_GRID} points")
            points = grown
        return points

    # ---- candidates ----------------------------------------------------------------------------

    def candidate(self, values: dict[str, Any], name: str) -> Any:
        """The base candidate with the values set at their paths (raises ValueError when they don't fit)."""
        data = self.base.model_dump(mode="json")
        data["name"] = name
        for pname, value in values.items():
            path = self.params[pname].path
            if path is not None:
                _set_path(data, path, [value] if path == "variants" else value, self)
        try:
            return _CANDIDATE.validate_python(data)
        except ValidationError as exc:
            key, reason = first_error(exc)
            raise ValueError(f"{key}: {reason}" if key else reason) from None

    def variant_of(self, cand: Any) -> str:
        return cand.variants[0]

    def fingerprint(self, profile: Any, directions: list[str]) -> str:
        """What makes two studies the same: base, parameters, task, training, the profile's budget, objectives."""
        blob = {
            "base": self.base.model_dump(mode="json", exclude={"name"}),
            "params": {k: v.model_dump(mode="json") for k, v in sorted(self.params.items())},
            "task": self.config.task.model_dump(mode="json"),
            "train": self.config.train.model_dump(mode="json"),
            "profile": {"name": profile.name, "budget": profile.budget.model_dump(mode="json")},
            "objectives": ["metric", f"latency_{profile.budget.percentile}_ms", "peak_memory_mb"],
            "directions": directions,
        }
        text = json.dumps(blob, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_CANDIDATE: TypeAdapter[Any] = TypeAdapter(Candidate)


def _suggest(trial: Any, name: str, p: ParamSpec) -> Any:
    if p.type == "categorical":
        return trial.suggest_categorical(name, p.choices)
    if p.type == "int":
        return trial.suggest_int(name, int(p.low), int(p.high), step=int(p.step or 1), log=p.log)  # type: ignore[arg-type]
    return trial.suggest_float(name, float(p.low), float(p.high), step=p.step, log=p.log)  # type: ignore[arg-type]


def _values_of(point: dict[str, Any], params: dict[str, ParamSpec]) -> dict[str, Any]:
    """Optuna names (width[0], ...) folded back into parameter values (lists for repeated ones)."""
    values: dict[str, Any] = {}
    for name, p in params.items():
        if p.repeat:
            items = sorted((int(k[len(name) + 1 : -1]), v) for k, v in point.items() if k.startswith(f"{name}["))
            if items:
                values[name] = [v for _, v in items]
        elif name in point:
            values[name] = point[name]
    return values


def values_from_params(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    """A finished trial's Optuna parameters as parameter values (what `candidate` takes)."""
    return _values_of(params, space.params)


def _finite_values(name: str, p: ParamSpec, file: str) -> list[Any]:
    if p.type == "categorical":
        return list(p.choices or [])
    if p.type == "int":
        return list(range(int(p.low), int(p.high) + 1, int(p.step or 1)))  # type: ignore[arg-type]
    if p.step is None:
        raise ConfigError(file, f"search.params.{name}", "a grid needs a finite space: give this float a step")
    n = math.floor((p.high - p.low) / p.step + 1e-9) + 1  # type: ignore[operator]
    return [p.low + i * p.step for i in range(n)]  # type: ignore[operator]


# ---- loading and checking -------------------------------------------------------------------------


def load_search_space(path: str | Path) -> SearchSpace:
    """Read and check a search file; every problem is one ConfigError `FILE: KEY: REASON`."""
    file = str(path)
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(file, "<root>", f"expected a mapping of keys, got {type(data).__name__}")
    if "search" not in data:
        raise ConfigError(file, "search", "required key is missing (a search file needs a `search:` block "
                          "with `base` and `params`)")  # fmt: skip
    if not isinstance(data["search"], dict):
        raise ConfigError(file, "search", f"expected a mapping of keys, got {type(data['search']).__name__}")
    try:
        block = validate(SearchBlock, data["search"], file)
    except ConfigError as exc:
        raise ConfigError(file, f"search.{exc.key}" if exc.key != "<root>" else "search", exc.reason) from None
    base = _base_data(block.base, data.get("candidates"), file)
    rest = {k: v for k, v in data.items() if k not in ("search", "candidates")}
    try:
        config = validate(SweepConfig, {**rest, "candidates": [base]}, file)
    except ConfigError as exc:
        raise ConfigError(file, _rekey(exc.key), exc.reason) from None
    config = _resolve_paths(config, Path(file))
    space = SearchSpace(config, config.candidates[0], dict(block.params), _order(block.params, file), file)
    _check(space)
    return space


def _base_data(base: dict[str, Any] | str, candidates: Any, file: str) -> dict[str, Any]:
    if isinstance(base, dict):
        return base
    named = [c for c in candidates or [] if isinstance(c, dict) and c.get("name") == base]
    if not named:
        raise ConfigError(file, "search.base", f"no candidate named {base!r} in `candidates`")
    return named[0]


def _rekey(key: str) -> str:
    return "search.base" + key[len("candidates.0") :] if key.startswith("candidates.0") else key


def _resolve_paths(config: SweepConfig, file: Path) -> SweepConfig:
    from archbench.registry import task_kind

    folder = file.resolve().parent
    try:
        base = config.candidates[0].resolve_paths(folder, file, "search.base")
        task = task_kind(config.task.kind).resolve_paths(config.task, folder, file)
    except OSError as exc:
        raise ConfigError(file, "<paths>", f"unusable path: {exc.strerror or exc}") from None
    return config.model_copy(update={"candidates": [base], "task": task})


def _order(params: dict[str, ParamSpec], file: str) -> tuple[str, ...]:
    """Dependency order; a missing or circular reference is an error."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, chain: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            raise ConfigError(file, f"search.params.{name}", "circular repeat/when: " + " -> ".join([*chain, name]))
        state[name] = "visiting"
        p = params[name]
        for dep, key in [(p.repeat, "repeat"), *((k, f"when.{k}") for k in (p.when or {}))]:
            if dep is None:
                continue
            if dep not in params:
                raise ConfigError(file, f"search.params.{name}.{key}", f"no parameter named {dep!r}")
            visit(dep, [*chain, name])
        state[name] = "done"
        order.append(name)

    for name in params:
        visit(name, [])
    return tuple(order)


def _check(space: SearchSpace) -> None:
    import re

    file, params = space.file, space.params
    paths: dict[str, str] = {}
    referenced = {p.repeat for p in params.values()} | {k for p in params.values() for k in (p.when or {})}
    for name, p in params.items():
        key = f"search.params.{name}"
        if not re.fullmatch(PARAM_NAME, name):
            raise ConfigError(file, key, "a parameter name is letters, digits and '_', starting with a letter")
        _check_range(p, key, file)
        if p.repeat is not None:
            target = params[p.repeat]
            if target.type != "int" or target.repeat or (target.low or 0) < 0:
                raise ConfigError(file, f"{key}.repeat", f"{p.repeat!r} must be a non-repeated int parameter >= 0")
        for other, allowed in (p.when or {}).items():
            if other == name:
                raise ConfigError(file, f"{key}.when.{other}", "a parameter cannot depend on itself")
            if not allowed:
                raise ConfigError(file, f"{key}.when.{other}", "empty: the parameter would never be sampled")
            bad = [v for v in allowed if not _in_range(params[other], v)]
            if bad:
                raise ConfigError(file, f"{key}.when.{other}", f"{bad[0]!r} is not a value {other!r} can take")
        if p.path is None:
            if name not in referenced:
                raise ConfigError(file, key, "no path and no parameter refers to it (repeat/when): it changes nothing")
            if p.repeat:
                raise ConfigError(file, f"{key}.repeat", "a repeated parameter needs a path to put its list")
            continue
        if p.path in paths:
            raise ConfigError(file, f"{key}.path", f"{p.path!r} is already set by parameter {paths[p.path]!r}")
        paths[p.path] = name
        _check_path(space, name, p)
    if "variants" not in paths and len(space.base.variants) != 1:
        raise ConfigError(file, "search.base.variants", "a trial measures one variant: give exactly one, or search "
                          "`variants` with a categorical parameter")  # fmt: skip
    for name, p in params.items():  # every value must fit the base candidate on its own
        if p.path is None:
            continue
        for value in _extremes(p):
            count = int(params[p.repeat].high or 1) if p.repeat else 0  # type: ignore[arg-type]
            try:
                space.candidate({name: [value] * max(count, 1) if p.repeat else value}, space.base.name)
            except ValueError as exc:
                raise ConfigError(file, f"search.params.{name}", f"{p.path} = {value!r} does not fit the base "
                                  f"candidate: {exc}") from None  # fmt: skip


def _check_range(p: ParamSpec, key: str, file: str) -> None:
    if p.type == "categorical":
        if p.low is not None or p.high is not None or p.step is not None or p.log:
            raise ConfigError(file, key, "a categorical parameter takes `choices`, not low/high/step/log")
        if not p.choices:
            raise ConfigError(file, f"{key}.choices", "required: a non-empty list of values")
        if len({json.dumps(c) for c in p.choices}) != len(p.choices):
            raise ConfigError(file, f"{key}.choices", "values must not repeat")
        return
    if p.choices is not None:
        raise ConfigError(file, f"{key}.choices", f"only a categorical parameter has choices (this is {p.type})")
    if p.low is None or p.high is None:
        raise ConfigError(file, f"{key}.{'low' if p.low is None else 'high'}", "required key is missing")
    if p.type == "int" and any(type(v) is not int for v in (p.low, p.high, p.step) if v is not None):
        raise ConfigError(file, key, "low, high and step of an int parameter must be integers")
    if p.low > p.high:
        raise ConfigError(file, key, f"empty range: low {p.low} > high {p.high}")
    if p.log and p.low <= 0:
        raise ConfigError(file, f"{key}.low", "a log range must start above 0")
    if p.step is not None and (p.step <= 0 or p.log):
        raise ConfigError(file, f"{key}.step", "must be > 0, and cannot be combined with log")
    if not all(math.isfinite(float(v)) for v in (p.low, p.high)):
        raise ConfigError(file, key, "low and high must be finite")


def _in_range(p: ParamSpec, value: Any) -> bool:
    if p.type == "categorical":
        return value in (p.choices or [])
    return isinstance(value, int | float) and not isinstance(value, bool) and p.low <= value <= p.high  # type: ignore[operator]


def _extremes(p: ParamSpec) -> list[Any]:
    return list(p.choices or []) if p.type == "categorical" else [p.low, p.high]


def _view(space: SearchSpace) -> dict[str, Any]:
    """The base candidate as a tree of every field a path may address (defaults filled in)."""
    view = space.base.model_dump(mode="json")
    if space.base.kind == "builtin":
        view["params"] = {**space.base.family_params().model_dump(mode="json"), **view["params"]}
    if view.get("train") is None:
        view["train"] = space.config.train.model_dump(mode="json")
    return view


def _check_path(space: SearchSpace, name: str, p: ParamSpec) -> None:
    parts = p.path.split(".")  # type: ignore[union-attr]
    key = f"search.params.{name}.path"
    if parts[0] in FIXED_PATHS:
        raise ConfigError(space.file, key, f"{parts[0]!r} cannot be searched")
    node: Any = _view(space)
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            where = ".".join(parts[:i]) or "the base candidate"
            fields = ", ".join(sorted(node)) if isinstance(node, dict) else "none (not a mapping)"
            raise ConfigError(space.file, key, f"{p.path!r}: {part!r} is not a field of {where} "
                              f"({space.base.kind}; fields: {fields})")  # fmt: skip
        node = node[part]


def _set_path(data: dict[str, Any], path: str, value: Any, space: SearchSpace) -> None:
    parts = path.split(".")
    if parts[0] == "train" and data.get("train") is None:
        data["train"] = space.config.train.model_dump(mode="json")  # override from the file's training
    node = data
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = copy.deepcopy(value)
