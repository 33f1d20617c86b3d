"""Tasks: data, splits, slices and the metric a candidate is judged on."""

from __future__ import annotations

from typing import Any

from archbench.tasks.base import TaskData


def load_task(spec: Any, config_file: str = "<config>") -> TaskData:
    """Materialise a task spec into arrays (in the parent; children load the saved .npz)."""
    if spec.kind == "digits":
        from archbench.tasks.digits import load_digits_task

        return load_digits_task(spec)
    if spec.kind == "text":
        from archbench.tasks.text import load_text_task

        return load_text_task(spec, config_file)
    raise ValueError(f"unknown task kind {spec.kind!r}")


__all__ = ["TaskData", "load_task"]
