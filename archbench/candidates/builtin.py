"""Built-in families for image-like inputs (N, C, H, W): MLPs and small CNNs. Imports torch."""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn


def build_mlp(sample_shape: Sequence[int], num_classes: int, hidden: Sequence[int], dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(sample_shape)
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def build_cnn(sample_shape: Sequence[int], num_classes: int, channels: Sequence[int], hidden: int = 64) -> nn.Module:
    """3x3 conv blocks; pooling halves the spatial size while it stays >= 2, so 8x8 inputs work."""
    if len(sample_shape) != 3:  # e.g. a table's feature vector: say so, not "min() arg is an empty sequence"
        from archbench.errors import CandidateError

        raise CandidateError(f"the cnn family needs image inputs (channels, height, width); this task's samples "
                             f"have shape {list(sample_shape)}: use the mlp family or your own model")
    in_ch, size = sample_shape[0], min(sample_shape[1:])
    layers: list[nn.Module] = []
    for ch in channels:
        layers += [nn.Conv2d(in_ch, ch, kernel_size=3, padding=1), nn.BatchNorm2d(ch), nn.ReLU()]
        if size >= 4:
            layers.append(nn.MaxPool2d(2))
            size //= 2
        in_ch = ch
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Linear(in_ch, hidden), nn.ReLU(), nn.Linear(hidden, num_classes)]
    return nn.Sequential(*layers)


def build_builtin(family: str, params: dict, sample_shape: Sequence[int], num_classes: int) -> nn.Module:
    from archbench.config import CnnParams, MlpParams

    if family == "mlp":
        p = MlpParams.model_validate(params)
        return build_mlp(sample_shape, num_classes, p.hidden, p.dropout)
    if family == "cnn":
        c = CnnParams.model_validate(params)
        return build_cnn(sample_shape, num_classes, c.channels, c.hidden)
    raise ValueError(f"unknown family {family!r}")

