"""Where each sample of a task came from: row numbers in the user's file, or image paths.

A task kind records them when it loads (`record_row_ids(info, train=..., test=...)`), so that a report
about one sample (archbench audit) can name the row the user has to fix. Stored in TaskData.info as
{"train": [...], "test": [...]}: JSON lists of 0-based row indices in the source file, or paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ROW_IDS = "row_ids"


def record_row_ids(info: dict[str, Any], train: Sequence[Any], test: Sequence[Any]) -> None:
    """Add the source rows (ints) or paths (strings) of the train and test samples, in split order."""
    info[ROW_IDS] = {"train": [_plain(v) for v in train], "test": [_plain(v) for v in test]}


def row_ids(info: dict[str, Any], split: str, n: int) -> tuple[list[Any], bool]:
    """(the split's row ids, True) when recorded for all n samples; else (0..n-1 within the split, False)."""
    ids = (info.get(ROW_IDS) or {}).get(split)
    if isinstance(ids, list) and len(ids) == n:
        return ids, True
    return list(range(n)), False


def _plain(value: Any) -> int | str:
    return value if isinstance(value, str) else int(value)
