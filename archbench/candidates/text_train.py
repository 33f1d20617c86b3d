"""Brief, seeded training of text classifiers on CPU: whole model on token batches, or a head on frozen features.

Batches are bucketed by length (sorted within chunks of a shuffled order) so a few long texts do not
make every batch pay for their padding; the order is drawn from the seed, so runs repeat exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

BUCKET_BATCHES = 20  # batches per sorted chunk: enough to group lengths, few enough to stay shuffled


def encode(tok: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Token ids with special tokens, truncated to max_length (the model's training length)."""
    tok.no_padding()
    tok.enable_truncation(max_length)
    ids = [e.ids for e in tok.encode_batch(list(texts))]
    tok.no_truncation()
    return ids


def collate(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(x) for x in ids)
    arr = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        arr[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return torch.from_numpy(arr), torch.from_numpy(mask)


def bucketed_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(len(lengths))
    lengths = np.asarray(lengths)
    batches: list[np.ndarray] = []
    chunk = batch_size * BUCKET_BATCHES
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def train_end_to_end(module: Any, ids: list[list[int]], y: np.ndarray, settings: dict[str, Any],
                     pad_id: int) -> dict[str, float]:  # fmt: skip
    """AdamW with linear warm-up (10%) and decay; gradient norm clipped at 1."""
    torch.manual_seed(settings["seed"])
    rng = np.random.default_rng(settings["seed"])
    params = [p for p in module.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=settings["lr"], weight_decay=settings["weight_decay"])
    steps_per_epoch = -(-len(ids) // settings["batch_size"])
    total = max(1, settings["epochs"] * steps_per_epoch)
    warmup = max(1, total // 10)
    def schedule(step: int) -> float:  # linear warm-up, then linear decay to zero
        return min((step + 1) / warmup, max(0.0, (total - step) / (total - warmup + 1)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    loss_fn = torch.nn.CrossEntropyLoss()
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    lengths = [len(x) for x in ids]
    loss = torch.tensor(float("nan"))
    module.train()
    for _ in range(settings["epochs"]):
        for idx in bucketed_batches(lengths, settings["batch_size"], rng):
            input_ids, mask = collate([ids[i] for i in idx], pad_id)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(input_ids, mask), yt[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
    module.eval()
    pred = predict(module, ids, pad_id)
    return {"final_loss": float(loss), "train_accuracy": float((pred == np.asarray(y)).mean())}


def predict(module: Any, ids: list[list[int]], pad_id: int, batch_size: int = 64) -> np.ndarray:
    feats = _batched(lambda i, m: module(i, m), ids, pad_id, batch_size)
    return feats.argmax(1)


def embed(module: Any, ids: list[list[int]], pad_id: int, batch_size: int = 64) -> np.ndarray:
    """Pooled encoder features of every text, computed once (a frozen encoder never changes them)."""
    return _batched(module.pooled, ids, pad_id, batch_size)


def _batched(fn: Any, ids: list[list[int]], pad_id: int, batch_size: int) -> np.ndarray:
    order = np.argsort([len(x) for x in ids], kind="stable")  # similar lengths together: little padding
    out: list[np.ndarray] = [np.empty(0)] * len(ids)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            rows = fn(*collate([ids[i] for i in idx], pad_id)).float().numpy()
            for i, row in zip(idx, rows, strict=True):
                out[i] = row
    return np.stack(out).astype(np.float32)


def train_frozen(module: Any, ids: list[list[int]], y: np.ndarray, settings: dict[str, Any],
                 pad_id: int) -> dict[str, float]:  # fmt: skip
    """Freeze the encoder, embed the training texts once, train only the linear head on the features."""
    from archbench.candidates.train import train_classifier

    module.eval()
    for p in module.encoder.parameters():
        p.requires_grad_(False)
    feats = embed(module, ids, pad_id)
    info = train_classifier(module.head, feats, np.asarray(y, dtype=np.int64), settings["epochs"], settings["lr"],
                            settings["batch_size"], settings["seed"], settings["weight_decay"])  # fmt: skip
    module.eval()
    return info
