"""Load-time checks of a local pretrained directory, from its JSON files only (no torch, no transformers).

A mistake here (wrong folder, a pickle-only checkpoint, too many layers kept) becomes a one-line
ConfigError before anything is trained, instead of a failed build minutes later.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archbench.errors import ConfigError

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
LAYER_KEYS = ("num_hidden_layers", "n_layers", "num_layers")
POSITION_KEYS = ("max_position_embeddings", "n_positions")


def read_model_config(directory: Path) -> dict[str, Any]:
    """config.json of a model directory; ValueError with the reason when absent or not JSON."""
    path = directory / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{directory} has no config.json (is it a Hugging Face model directory?)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a JSON object")
    return data


def num_layers(config: dict[str, Any]) -> int | None:
    return next((config[k] for k in LAYER_KEYS if isinstance(config.get(k), int)), None)


def check_pretrained_dir(cand: Any, directory: Path, file: str | Path, key: str) -> None:
    if not directory.is_dir():
        raise ConfigError(file, f"{key}.path", f"no such directory: {cand.path}")
    try:
        config = read_model_config(directory)
    except ValueError as exc:
        raise ConfigError(file, f"{key}.path", str(exc)) from None
    if not any((directory / w).is_file() for w in WEIGHT_FILES):
        raise ConfigError(file, f"{key}.path", f"no model.safetensors in {cand.path} (pickled checkpoints "
                          "are not loaded)")  # fmt: skip
    if not (directory / "tokenizer.json").is_file():
        raise ConfigError(file, f"{key}.path", f"no tokenizer.json in {cand.path} (a fast tokenizer is needed)")
    layers = num_layers(config)
    if cand.keep_layers is not None and layers is not None and cand.keep_layers > layers:
        raise ConfigError(file, f"{key}.keep_layers", f"{cand.keep_layers} > the model's {layers} layers")
    positions = next((config[k] for k in POSITION_KEYS if isinstance(config.get(k), int)), None)
    if positions is not None and cand.max_length > positions:
        raise ConfigError(file, f"{key}.max_length", f"{cand.max_length} > the model's {positions} positions")
