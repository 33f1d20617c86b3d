"""Validated, frozen configuration: hardware profiles, budgets, candidates, the sweep.

Pure: imports neither torch nor onnxruntime, so validation is instant and testable anywhere. One
module per part; everything is importable from here.
"""

from archbench.config.base import (
    IMPORT_PATTERN,
    NAME_PATTERN,
    PERCENTILES,
    Fraction,
    Frozen,
    PositiveFloat,
    SafeName,
    VariantName,
    resolve_user_path,
)
from archbench.config.candidates import (
    BertOverrides,
    BuiltinCandidate,
    Candidate,
    CandidateBase,
    CnnParams,
    HfConfigCandidate,
    HfPretrainedCandidate,
    ImportCandidate,
    MlpParams,
    OnnxCandidate,
    TextCandidateBase,
    TokenizerSpec,
    TrainSettings,
)
from archbench.config.loading import (
    MAX_ALIASES,
    MAX_CONFIG_BYTES,
    first_error,
    load_profile,
    load_sweep_config,
    load_yaml,
    validate,
)
from archbench.config.profile import Budget, HardwareProfile, MeasureSettings, UpstreamStage
from archbench.config.sweep import SweepConfig, TaskSpecBase, validate_task_spec

__all__ = [
    "IMPORT_PATTERN", "MAX_ALIASES", "MAX_CONFIG_BYTES", "NAME_PATTERN", "PERCENTILES", "BertOverrides", "Budget",
    "BuiltinCandidate", "Candidate", "CandidateBase", "CnnParams", "Fraction", "Frozen", "HardwareProfile",
    "HfConfigCandidate", "HfPretrainedCandidate", "ImportCandidate", "MeasureSettings", "MlpParams", "OnnxCandidate",
    "PositiveFloat", "SafeName", "SweepConfig", "TaskSpecBase", "TextCandidateBase", "TokenizerSpec", "TrainSettings",
    "UpstreamStage", "VariantName", "first_error", "load_profile", "load_sweep_config", "load_yaml",
    "resolve_user_path", "validate", "validate_task_spec",
]  # fmt: skip
