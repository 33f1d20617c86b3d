"""The config spec of the text task kind: files, columns, splits and declared slices. Pure pydantic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from archbench.config import Frozen, SafeName, TaskSpecBase


class LengthRange(Frozen):
    """Half-open [min, max): a text belongs when min <= length < max. Either end may be open."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> LengthRange:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.max <= self.min:
            raise ValueError("max must be greater than min")
        return self


Scalar = str | int | float | bool


class Condition(Frozen):
    """One declarative test on a column of the test file; never evaluated as code."""

    column: str = Field(min_length=1)
    op: Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"] = "=="
    value: Scalar | list[Scalar]

    @model_validator(mode="after")
    def _value_fits_op(self) -> Condition:
        if self.op in ("in", "not in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        if self.op not in ("in", "not in") and isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a single value, not a list")
        numeric = isinstance(self.value, int | float) and not isinstance(self.value, bool)
        if self.op in ("<", "<=", ">", ">=") and not numeric:
            raise ValueError(f"op {self.op!r} needs a number")
        if self.op == "contains" and not isinstance(self.value, str):
            raise ValueError("op 'contains' needs a string")
        return self


class TextSlice(Frozen):
    """A named subset of the test set: every criterion given must hold."""

    name: SafeName
    tokens: LengthRange | None = None
    words: LengthRange | None = None
    where: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_a_criterion(self) -> TextSlice:
        if self.tokens is None and self.words is None and not self.where:
            raise ValueError("a slice needs tokens, words or where")
        return self


class TextTaskSpec(TaskSpecBase):
    """Text classification from the user's CSV or JSONL files."""

    kind: Literal["text"] = "text"
    train_file: str = Field(min_length=1)
    test_file: str | None = Field(None, description="absent: split train_file with seed and test_fraction")
    format: Literal["csv", "jsonl"] | None = Field(None, description="default: from the file suffix")
    text_column: str = Field("text", min_length=1)
    label_column: str = Field("label", min_length=1)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0)
    max_train: int | None = Field(None, ge=2, description="seeded subsample of training rows (shorter builds)")
    max_test: int | None = Field(None, ge=2, description="seeded subsample of test rows")
    slices: list[TextSlice] | None = Field(None, description="default: short/long at the median token length")
    length_tokenizer: str | None = Field(None, description="tokenizer.json (or its directory) to count tokens")

    @field_validator("slices")
    @classmethod
    def _unique_slices(cls, slices: list[TextSlice] | None) -> list[TextSlice] | None:
        names = [s.name for s in slices or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"slice names must be unique, repeated: {', '.join(dupes)}")
        return slices


