"""Shared config types: the frozen strict base model, names, numbers, and paths from config files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
)

from archbench.errors import ConfigError

PERCENTILES: dict[str, float] = {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
IMPORT_PATTERN = r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$"

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
SafeName = Annotated[str, Field(pattern=NAME_PATTERN)]


def _known_variant(name: str) -> str:
    from archbench.registry import variant_names

    if name not in variant_names():
        raise ValueError(f"{name!r} is not one of {', '.join(repr(v) for v in variant_names())}")
    return name


VariantName = Annotated[str, AfterValidator(_known_variant)]  # a name in archbench/registry.py's VARIANTS


class Frozen(BaseModel):
    # strict: YAML's `yes` must not become 1 thread, nor "5" a 5 ms budget.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)




def resolve_user_path(base: Path, ref: str, file: str | Path, key: str, what: str = "data file") -> str:
    """A path from a config file, resolved against the file's folder; it must exist (one-line error).

    what: "directory", "any" (file or directory), or the name of a file kind for the message.
    """
    resolved = Path(ref) if Path(ref).is_absolute() else (base / ref).resolve()
    if not resolved.exists():
        raise ConfigError(file, key, f"no such {'directory' if what == 'directory' else 'file'}: {ref}")
    if what == "directory" and not resolved.is_dir():
        raise ConfigError(file, key, f"is not a directory: {ref}")
    if what not in ("directory", "any") and not resolved.is_file():
        raise ConfigError(file, key, f"is a directory, not a {what}: {ref}")
    return str(resolved)
