"""The sweep config: the task (its spec class chosen by kind from the registry), training, candidates."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
)

from archbench.config.base import Frozen
from archbench.config.candidates import Candidate, CandidateBase, TrainSettings, _candidate_classes


class TaskSpecBase(Frozen):
    """What every task kind's spec has; each kind's own spec (in its module) adds the rest."""

    kind: str
    metric: Literal["accuracy", "balanced_accuracy", "macro_f1"] = Field(
        "accuracy", description="what min_accuracy and slice floors are judged on"
    )


def validate_task_spec(data: Any) -> TaskSpecBase:
    """Dispatch a task block to the spec class its kind registered (archbench/registry.py)."""
    from archbench.registry import task_kind

    if isinstance(data, TaskSpecBase):
        return data
    if not isinstance(data, dict):
        raise ValueError(f"expected a mapping of keys, got {type(data).__name__}")
    kind = data.get("kind", "digits")
    if not isinstance(kind, str):
        raise ValueError(f"task.kind must be a name, not {type(kind).__name__}")
    return task_kind(kind).Spec.model_validate(data)


def _default_task() -> TaskSpecBase:
    return validate_task_spec({"kind": "digits"})




class SweepConfig(Frozen):
    task: TaskSpecBase = Field(default_factory=_default_task)
    train: TrainSettings = Field(default_factory=TrainSettings)
    candidates: list[Candidate] = Field(min_length=1)
    profiles: list[str] | None = Field(None, description="profile names or paths; default: shipped CPU ones")
    repeats: int = Field(1, ge=1, le=100, description="interleaved repeats of every measurement")
    # a search space (archbench search, validated there): one file can serve both commands; a sweep ignores it
    search: dict[str, Any] | None = None

    @field_validator("task", mode="before")
    @classmethod
    def _task_by_kind(cls, value: Any) -> TaskSpecBase:
        return validate_task_spec(value)

    @field_validator("candidates")
    @classmethod
    def _unique_names(cls, candidates: list[Any]) -> list[Any]:
        names = [c.name for c in candidates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"candidate names must be unique, repeated: {', '.join(dupes)}")
        return candidates

    @field_validator("candidates")
    @classmethod
    def _candidates_fit_task(cls, candidates: list[Any], info: ValidationInfo) -> list[Any]:
        from archbench.registry import task_kind

        task = info.data.get("task")  # validated first: it is declared first
        if task is None:
            return candidates
        modality = task_kind(task.kind).modality
        for i, cand in enumerate(candidates):
            if cand.modality != modality:
                wanted = ", ".join(sorted(k for k, c in _candidate_classes().items() if c.modality == modality))
                raise ValueError(f"item {i} ({cand.name}) is {cand.kind}; a {task.kind} task takes {wanted} candidates")
        return candidates

    def train_settings(self, candidate: CandidateBase) -> TrainSettings:
        return candidate.train or self.train


