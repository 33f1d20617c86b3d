"""Registries at the edges: task kinds, candidate kinds and variants, each found by name.

A new kind of task or runtime is one module plus one line here; the core (plan, build, measure,
judge, report) never asks which kind it holds. Entries are "module:attribute" strings so that
looking a name up imports only that module (config validation must not import torch or
onnxruntime). `register_*` adds an entry at run time (a user's own kind, a test's toy kind).
"""

from __future__ import annotations

import importlib
from typing import Any

TASK_KINDS: dict[str, str] = {
    "digits": "archbench.tasks.digits:DigitsTask",
    "text": "archbench.tasks.text:TextTask",
    "table": "archbench.tasks.table:TableTask",
    "arrays": "archbench.tasks.arrays:ArraysTask",
    "images": "archbench.tasks.images:ImagesTask",
    "import": "archbench.tasks.import_data:ImportTask",
}

CANDIDATE_KINDS: dict[str, str] = {
    "builtin": "archbench.candidates.tensor:BuiltinKind",
    "import": "archbench.candidates.tensor:ImportKind",
    "onnx": "archbench.candidates.tensor:OnnxFileKind",
    "hf-config": "archbench.candidates.hf:HfConfigKind",
    "hf-pretrained": "archbench.candidates.hf:HfPretrainedKind",
}

# Order matters: a variant is produced after the ones it derives from (int8 files from the fp32 export).
VARIANTS: dict[str, str] = {
    "torch": "archbench.backends.torch_eager:TorchVariant",
    "torch-int8": "archbench.backends.torch_eager:TorchInt8Variant",
    "onnx": "archbench.backends.ort:OrtVariant",
    "onnx-int8": "archbench.backends.ort_int8:OrtInt8Variant",
    "onnx-int8-pc": "archbench.backends.ort_int8:OrtInt8PerChannelVariant",
}


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _known(table: dict[str, str], name: str, what: str) -> str:
    if name not in table:
        raise ValueError(f"{name!r} is not one of {', '.join(repr(k) for k in table)}")
    return table[name]


def task_kind(name: str) -> Any:
    """The TaskKind class registered under `name` (ValueError naming the known ones otherwise)."""
    return _load(_known(TASK_KINDS, name, "task kind"))


def candidate_kind(name: str) -> Any:
    return _load(_known(CANDIDATE_KINDS, name, "candidate kind"))


def variant(name: str) -> Any:
    """An instance of the Variant registered under `name`."""
    return _load(_known(VARIANTS, name, "variant"))()


def variant_names() -> tuple[str, ...]:
    return tuple(VARIANTS)


def register_task_kind(name: str, ref: str) -> None:
    TASK_KINDS[name] = ref


def register_variant(name: str, ref: str) -> None:
    VARIANTS[name] = ref
