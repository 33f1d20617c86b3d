"""Reading config files: bounded safe YAML, validation into one-line errors (file, key, reason)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from pydantic import (
    ValidationError,
)

from archbench.config.base import Frozen
from archbench.config.profile import HardwareProfile
from archbench.config.sweep import SweepConfig, TaskSpecBase, validate_task_spec
from archbench.errors import ConfigError

# ---- loading -------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 100_000  # after alias expansion: what validation and hashing will actually walk


def load_yaml(path: str | Path) -> Any:
    """Safe-load a YAML file; every failure is a ConfigError naming the file."""
    import yaml

    from archbench.userfiles import read_user_text

    path = Path(path)
    text = read_user_text(path, "YAML file", max_bytes=MAX_CONFIG_BYTES)
    try:
        data = yaml.load(text, Loader=_bounded_safe_loader())  # a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "<yaml>"
        raise ConfigError(path, where, f"invalid YAML: {exc.problem or exc}") from None
    except (yaml.YAMLError, RecursionError, ValueError) as exc:
        raise ConfigError(path, "<yaml>", f"invalid YAML: {exc}") from None
    if _expanded_size(data, MAX_NODES) > MAX_NODES:
        raise ConfigError(path, "<yaml>", f"document expands to more than {MAX_NODES} values (alias bomb?)")
    return data


def _expanded_size(data: Any, limit: int) -> int:
    """Count values as a walker would see them (aliases expanded), stopping just past the limit."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


@functools.cache
def _bounded_safe_loader() -> type:
    import yaml

    class BoundedSafeLoader(yaml.SafeLoader):
        """SafeLoader that refuses alias bombs ("billion laughs") by counting alias uses."""

        aliases_seen = 0

        def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
            if self.check_event(yaml.AliasEvent):
                self.aliases_seen += 1
                if self.aliases_seen > MAX_ALIASES:
                    raise yaml.YAMLError(f"more than {MAX_ALIASES} YAML aliases")
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if not isinstance(node, yaml.MappingNode):  # e.g. `!!map [1, 2]`: let SafeLoader say why
                return super().construct_mapping(node, deep=deep)
            keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
            hashable = [k for k in keys if isinstance(k, str | int | float | bool | None)]
            dupes = sorted({str(k) for k in hashable if hashable.count(k) > 1})
            if dupes:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {dupes[0]!r}", node.start_mark
                )
            return super().construct_mapping(node, deep=deep)

    return BoundedSafeLoader


def validate(model: type[Frozen], data: Any, file: str | Path) -> Any:
    """Validate data against a config model; the first problem becomes a one-line ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(file, "<root>", f"expected a mapping of keys, got {type(data).__name__}")
    if model is SweepConfig and "task" in data:  # its spec class depends on its kind: validate it apart
        data = {**data, "task": _validate_task(data["task"], file)}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        key, reason = first_error(exc)
        raise ConfigError(file, key or "<root>", reason) from None
    except RecursionError:
        raise ConfigError(file, "<root>", "nested too deeply") from None


def _validate_task(data: Any, file: str | Path) -> TaskSpecBase:
    from archbench.registry import TASK_KINDS

    if not isinstance(data, dict):
        raise ConfigError(file, "task", f"expected a mapping of keys, got {type(data).__name__}")
    kind = data.get("kind", "digits")
    if not isinstance(kind, str) or kind not in TASK_KINDS:
        raise ConfigError(file, "task.kind", f"{kind!r} is not one of {', '.join(repr(k) for k in TASK_KINDS)}")
    try:
        return validate_task_spec(data)
    except ValidationError as exc:
        key, reason = first_error(exc)
        raise ConfigError(file, f"task.{key}" if key else "task", reason) from None


def first_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted key as the user wrote it, reason) of a validation error's first problem."""
    err = exc.errors(include_url=False)[0]
    loc = err["loc"]
    key = ".".join(str(p) for i, p in enumerate(loc) if not _is_internal(p, loc[i - 1] if i else None))
    reason = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        reason = "unknown key"
    elif err["type"] == "missing":
        reason = "required key is missing"
    elif err["type"] == "union_tag_not_found":  # its ctx has no expected_tags: `kind` is simply absent
        key, reason = f"{key}.kind" if key else "kind", "required key is missing"
    elif err["type"] == "union_tag_invalid":
        given = err["ctx"].get("tag", "nothing")
        key, reason = f"{key}.kind" if key else "kind", f"{given!r} is not one of {err['ctx']['expected_tags']}"
    return key, reason


_UNION_TAGS = {"builtin", "import", "onnx", "hf-config", "hf-pretrained"}  # the candidate union's tags
_INTERNAL_LOC = re.compile(r"^(constrained-\w+|literal\[.*\]|function-\w+\[.*\]|int|float|str|bool|list\[.*\])$")


def _is_internal(part: Any, previous: Any) -> bool:
    """Location parts pydantic adds (union tags, union member types) that the user never wrote."""
    if not isinstance(part, str):
        return False
    if part in _UNION_TAGS and isinstance(previous, int):
        return True
    return bool(_INTERNAL_LOC.match(part))


def load_profile(path: str | Path) -> HardwareProfile:
    return validate(HardwareProfile, load_yaml(path), path)


def load_sweep_config(path: str | Path) -> SweepConfig:
    try:
        return _load_sweep_config(path)
    except OSError as exc:  # checking a path the user wrote (too long, unreadable, ...): still one line
        raise ConfigError(path, "<paths>", f"unusable path: {exc.strerror or exc}") from None


def _load_sweep_config(path: str | Path) -> SweepConfig:
    from archbench.registry import task_kind

    config = validate(SweepConfig, load_yaml(path), path)
    base = Path(path).resolve().parent
    candidates = [c.resolve_paths(base, path, f"candidates.{i}") for i, c in enumerate(config.candidates)]
    task = task_kind(config.task.kind).resolve_paths(config.task, base, path)
    return config.model_copy(update={"candidates": candidates, "task": task})


