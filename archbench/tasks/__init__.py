"""Tasks: data, splits, slices and the metric a candidate is judged on. Kinds: archbench/registry.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archbench.tasks.base import TaskData, TaskKind


def load_task(spec: Any, config_file: str | Path = "<config>") -> TaskData:
    """Materialise a task spec into arrays (in the parent; children load the saved .npz)."""
    from archbench.registry import task_kind

    data = task_kind(spec.kind).load(spec, config_file)
    data.info["metric"] = spec.metric
    return data


__all__ = ["TaskData", "TaskKind", "load_task"]
