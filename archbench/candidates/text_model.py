"""A transformer encoder + pooling + linear head, built from a config or a local pretrained directory.

Saved as config.json (the encoder's, after any truncation), text_model.json (pooling, labels, pad)
and weights.safetensors, so the measuring child rebuilds it without the original directory and
without pickles. Imports torch and transformers: call only inside children.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archbench.errors import CandidateError

META_FILE = "text_model.json"
WEIGHTS_FILE = "weights.safetensors"


class TextClassifier(nn.Module):
    """logits = head(pool(encoder(input_ids, attention_mask))); pads never enter the pooled vector."""

    def __init__(self, encoder: nn.Module, num_classes: int, pooling: str) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.head = nn.Linear(hidden_size(encoder.config), num_classes)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(input_ids, attention_mask))


def hidden_size(config: Any) -> int:
    size = getattr(config, "hidden_size", None) or getattr(config, "dim", None)
    if not isinstance(size, int):
        raise CandidateError(f"cannot tell the hidden size of a {type(config).__name__}")
    return size


def encoder_from_overrides(overrides: dict[str, Any], vocab_size: int, pad_id: int) -> nn.Module:
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=vocab_size, pad_token_id=pad_id, **overrides)
    return BertModel(config, add_pooling_layer=False)


def encoder_from_pretrained(path: str, keep_layers: int | None) -> nn.Module:
    """Local files only and never remote code: a checkpoint cannot run code or reach a hub."""
    from transformers import AutoModel

    try:
        encoder = AutoModel.from_pretrained(path, local_files_only=True, trust_remote_code=False,
                                            use_safetensors=True)  # fmt: skip
    except Exception as exc:
        raise CandidateError(f"cannot load pretrained encoder from {path}: {' '.join(str(exc).split())[:300]}") from exc
    _drop_pooler(encoder)
    if keep_layers is not None:
        truncate_layers(encoder, keep_layers)
    return encoder


def _drop_pooler(encoder: nn.Module) -> None:
    """BERT's pooler (a dense layer on [CLS] for next-sentence prediction) is unused by our head."""
    if getattr(encoder, "pooler", None) is not None:
        encoder.pooler = None


def truncate_layers(encoder: nn.Module, keep: int) -> None:
    """Keep the first `keep` transformer layers (BERT-like `encoder.layer`, DistilBERT-like `transformer.layer`)."""
    for owner_name, count_key in (("encoder", "num_hidden_layers"), ("transformer", "n_layers")):
        owner = getattr(encoder, owner_name, None)
        layers = getattr(owner, "layer", None)
        if isinstance(layers, nn.ModuleList):
            if keep > len(layers):
                raise CandidateError(f"keep_layers {keep} > the model's {len(layers)} layers")
            owner.layer = nn.ModuleList(list(layers)[:keep])
            setattr(encoder.config, count_key, keep)
            return
    raise CandidateError(f"keep_layers: no layer list found in a {type(encoder).__name__}")


def save_classifier(module: TextClassifier, out_dir: Path, meta: dict[str, Any]) -> Path:
    from safetensors.torch import save_file

    module.encoder.config.save_pretrained(str(out_dir))  # config.json, after truncation
    (out_dir / META_FILE).write_text(json.dumps({**meta, "pooling": module.pooling}))
    path = out_dir / WEIGHTS_FILE
    save_file({k: v.detach().contiguous() for k, v in module.state_dict().items()}, str(path))
    return path


def load_classifier(model_dir: Path) -> tuple[TextClassifier, dict[str, Any]]:
    """Rebuild from config.json with the architecture classes transformers ships (no remote code)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    meta = json.loads((model_dir / META_FILE).read_text())
    config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True, trust_remote_code=False)
    encoder = AutoModel.from_config(config, trust_remote_code=False)
    _drop_pooler(encoder)
    module = TextClassifier(encoder, meta["num_classes"], meta["pooling"])
    module.load_state_dict(load_file(str(model_dir / WEIGHTS_FILE)))
    return module.eval(), meta
