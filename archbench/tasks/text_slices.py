"""Named subsets of a text test set: by length in tokens or words, or by declarative column conditions.

Conditions are data ({column, op, value}) interpreted here by a fixed table of operators; no user
string is ever evaluated as code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import ConfigError

PRETOKEN = re.compile(r"\w+|[^\w\s]")  # BERT-style pre-tokenisation: words and single punctuation marks
PRETOKEN_UNIT = "pre-tokens (words and punctuation marks; set task.length_tokenizer to count subword tokens)"

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def word_lengths(texts: Sequence[str]) -> np.ndarray:
    return np.array([len(t.split()) for t in texts], dtype=np.int64)


def token_lengths(texts: Sequence[str], tokenizer_ref: str | None) -> tuple[np.ndarray, str]:
    """Token count of every text, and the unit it was counted in (for the report)."""
    if tokenizer_ref is None:
        return np.array([len(PRETOKEN.findall(t)) for t in texts], dtype=np.int64), PRETOKEN_UNIT
    from tokenizers import Tokenizer

    path = Path(tokenizer_ref)
    if path.is_dir():
        path = path / "tokenizer.json"
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # a missing or malformed file: the user's to fix
        raise ConfigError(tokenizer_ref, "task.length_tokenizer", f"cannot load a tokenizer: {exc}") from None
    tok.no_padding()
    tok.no_truncation()  # the real length, whatever a model later truncates to
    encodings = tok.encode_batch(list(texts), add_special_tokens=False)
    return np.array([len(e.ids) for e in encodings], dtype=np.int64), f"tokens of {path}"


def default_slices(tokens: np.ndarray) -> dict[str, np.ndarray]:
    """short: at most the median token length; long: above it."""
    median = float(np.median(tokens))
    return {"short": np.flatnonzero(tokens <= median), "long": np.flatnonzero(tokens > median)}


def select_slices(specs: Sequence[Any], rows: Sequence[dict[str, Any]], columns: Sequence[str], tokens: np.ndarray,
                  words: np.ndarray, config_file: str, data_file: Path) -> dict[str, np.ndarray]:  # fmt: skip
    """Indices into the test set for every declared slice; an empty slice is a configuration error."""
    out: dict[str, np.ndarray] = {}
    for i, spec in enumerate(specs):
        key = f"task.slices.{i}"
        mask = np.ones(len(rows), dtype=bool)
        if spec.tokens is not None:
            mask &= _in_range(tokens, spec.tokens)
        if spec.words is not None:
            mask &= _in_range(words, spec.words)
        for j, cond in enumerate(spec.where):
            if cond.column not in columns:
                raise ConfigError(config_file, f"{key}.where.{j}.column",
                                  f"no column {cond.column!r} in {data_file.name}")  # fmt: skip
            mask &= np.array([_holds(r.get(cond.column), cond, config_file, f"{key}.where.{j}") for r in rows],
                             dtype=bool)  # fmt: skip
        if not mask.any():
            raise ConfigError(config_file, key, f"slice {spec.name!r} selects no test example")
        out[spec.name] = np.flatnonzero(mask)
    return out


def _in_range(lengths: np.ndarray, rng: Any) -> np.ndarray:
    lo = rng.min if rng.min is not None else 0
    hi = rng.max if rng.max is not None else np.iinfo(np.int64).max
    return (lengths >= lo) & (lengths < hi)


def _holds(cell: Any, cond: Any, config_file: str, key: str) -> bool:
    """A missing cell satisfies no condition (not even '!='): absent data is not evidence."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return False
    op, value = cond.op, cond.value
    if op == "contains":
        return value in str(cell)
    if op in ("in", "not in"):
        found = any(_equal(cell, v, config_file, key) for v in value)
        return found if op == "in" else not found
    if op in ("==", "!="):
        same = _equal(cell, value, config_file, key)
        return same if op == "==" else not same
    number = _number(cell, config_file, key, cond.column)
    return not math.isnan(number) and _COMPARE[op](number, value)


def _equal(cell: Any, value: Any, config_file: str, key: str) -> bool:
    if isinstance(value, bool):
        return str(cell).strip().lower() == str(value).lower()
    if isinstance(value, int | float):
        return _number(cell, config_file, key, None) == value
    return str(cell).strip() == value


def _number(cell: Any, config_file: str, key: str, column: str | None) -> float:
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return float(cell)
    try:
        return float(str(cell).strip())
    except ValueError:
        where = f" in column {column!r}" if column else ""
        raise ConfigError(config_file, key, f"compares numbers, but {cell!r}{where} is not a number") from None
