"""The user's own PyTorch factory for the table example: `target: "mymodels:make_net"`."""

from torch import nn


def make_net(n_features: int = 30, n_classes: int = 3, width: int = 32) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_classes))
