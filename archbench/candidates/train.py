"""Brief, seeded training on CPU. Deterministic for a given seed, model and data."""

from __future__ import annotations

import numpy as np


def train_classifier(module, x: np.ndarray, y: np.ndarray, epochs: int, lr: float, batch_size: int,
                     seed: int, weight_decay: float = 0.0) -> dict[str, float]:  # fmt: skip
    import torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr * 5, total_steps=max(1, epochs * ((len(xt) + batch_size - 1) // batch_size))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    module.train()
    loss = torch.tensor(float("nan"))
    for _ in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        for start in range(0, len(xt), batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
    module.eval()
    with torch.inference_mode():
        train_acc = float((module(xt).argmax(1) == yt).float().mean())
    return {"final_loss": float(loss), "train_accuracy": train_acc}
