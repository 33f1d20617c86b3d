"""Build child for text candidates: tokenizer, brief seeded training, safetensors, ONNX (checked), int8.

Returns the payload shape of the tensor build: {artifacts, variant_errors, timings, params, info}.
A failed export or quantisation is recorded per variant; the torch variants still get measured.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import CandidateError

Pair = tuple[np.ndarray, np.ndarray]  # (input_ids, attention_mask)


def build_text_candidate(job: dict[str, Any], task: Any) -> dict[str, Any]:
    import torch

    from archbench.backends.export import quantize_variants
    from archbench.candidates.builtin import count_params
    from archbench.candidates.text_model import (
        TextClassifier,
        encoder_from_overrides,
        encoder_from_pretrained,
        save_classifier,
    )
    from archbench.candidates.text_tokenizer import load_tokenizer, pad_token, train_tokenizer
    from archbench.candidates.text_train import encode, train_end_to_end, train_frozen
    from archbench.measure.memory import limit_address_space
    from archbench.measure.worker import TEXT_IMPORT_HEADROOM_MB

    cand, tr, out_dir = job["candidate"], job["train"], Path(job["out_dir"])
    if cand["kind"] not in ("hf-config", "hf-pretrained"):
        raise CandidateError(f"a text task takes hf-config or hf-pretrained candidates, not {cand['kind']}")
    # A runaway build fails alone; the libraries it imports next reserve address space of their own.
    limit_address_space(job["memory_headroom_mb"] + TEXT_IMPORT_HEADROOM_MB)
    torch.manual_seed(tr["seed"])
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if cand["kind"] == "hf-config":
        tok = train_tokenizer(task.x_train.tolist(), cand["tokenizer"])
        pad_id, pad = pad_token(tok)
        timings["tokenizer_s"] = time.perf_counter() - t0
        encoder = encoder_from_overrides(cand["config"], tok.get_vocab_size(), pad_id)
    else:
        tok, pad_id, pad = load_tokenizer(Path(cand["path"]) / "tokenizer.json")
        encoder = encoder_from_pretrained(cand["path"], cand.get("keep_layers"))
    module = TextClassifier(encoder, task.num_classes, cand["pooling"])
    ids = encode(tok, task.x_train.tolist(), cand["max_length"])
    frozen = cand["kind"] == "hf-pretrained" and cand.get("mode", "frozen") == "frozen"
    info: dict[str, Any] = {"training": "frozen encoder, head only" if frozen else "end to end",
                            "vocab_size": tok.get_vocab_size(), "max_length": cand["max_length"],
                            "tokenizer_sha256": hashlib.sha256(tok.to_str().encode()).hexdigest()[:16]}  # fmt: skip
    info.update((train_frozen if frozen else train_end_to_end)(module, ids, task.y_train, tr, pad_id))
    module.eval()
    timings["train_s"] = time.perf_counter() - t0

    meta = {"num_classes": task.num_classes, "labels": task.info.get("labels"), "max_length": cand["max_length"],
            "pad_id": pad_id, "pad_token": pad, "max_positions": _positions(encoder.config)}  # fmt: skip
    weights = save_classifier(module, out_dir, meta)
    tok_path = out_dir / "tokenizer.json"
    tok.save(str(tok_path))
    artifacts = {"weights": str(weights), "tokenizer": str(tok_path), "model_dir": str(out_dir)}
    errors: dict[str, str] = {}
    onnx_variants = [v for v in job["variants"] if v.startswith("onnx")]
    if onnx_variants:
        t0 = time.perf_counter()
        path = out_dir / "model.onnx"
        try:
            padded, unpadded = verification_inputs(tok, task.x_test, cand["max_length"], pad_id)
            export_text_onnx(module, padded, path)
            info["export_max_abs_diff"] = max(verify_text_onnx(module, path, x) for x in (padded, unpadded))
            info["padding_invariance_max_abs_diff"] = padding_invariance(module, padded)
            artifacts["onnx"] = str(path)
        except CandidateError as exc:
            errors.update({v: str(exc) for v in onnx_variants})
        timings["export_s"] = time.perf_counter() - t0
        if "onnx" in artifacts:
            quantize_variants(path, out_dir, job["variants"], artifacts, errors, timings)
    return {"artifacts": artifacts, "variant_errors": errors, "timings": timings, "params": count_params(module),
            "info": info}  # fmt: skip


def _positions(config: Any) -> int | None:
    value = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
    return int(value) if isinstance(value, int) else None


def verification_inputs(tok: Any, texts: np.ndarray, max_length: int, pad_id: int) -> tuple[Pair, Pair]:
    """A padded batch (shortest and longest test texts together) and one unpadded text."""
    from archbench.candidates.text_train import collate, encode

    ids = encode(tok, texts.tolist(), max_length)
    order = np.argsort([len(x) for x in ids], kind="stable")
    pick = list(dict.fromkeys([*order[:2].tolist(), *order[-2:].tolist(), order[len(order) // 2]]))
    batch, mask = collate([ids[i] for i in pick], pad_id)
    single, single_mask = collate([ids[order[len(order) // 2]]], pad_id)
    return (batch.numpy(), mask.numpy()), (single.numpy(), single_mask.numpy())


def export_text_onnx(module: Any, example: Pair, path: Path, opset: int = 17) -> None:
    """TorchScript exporter (fast, one file), dynamic batch and sequence axes on both inputs."""
    import torch

    ids, mask = (torch.from_numpy(a) for a in example)
    axes = {0: "batch", 1: "sequence"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(), (ids, mask), str(path), input_names=["input_ids", "attention_mask"],
                output_names=["logits"], opset_version=opset, dynamo=False,
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
            )  # fmt: skip
    except Exception as exc:
        raise CandidateError(f"ONNX export failed: {' '.join(str(exc).split())[:300]}") from exc


def verify_text_onnx(module: Any, path: Path, inputs: Pair) -> float:
    """Largest |ONNX Runtime - PyTorch| on these inputs; a CandidateError beyond the export tolerance."""
    import onnxruntime as ort
    import torch

    from archbench.backends.export import ATOL, RTOL

    ids, mask = inputs
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    with torch.inference_mode():
        want = module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    if got.shape != want.shape:
        raise CandidateError(f"ONNX output shape {got.shape} != PyTorch {want.shape}")
    diff = float(np.max(np.abs(got - want)))
    if not np.allclose(got, want, atol=ATOL, rtol=RTOL):
        kind = "padded" if (mask == 0).any() else "unpadded"
        raise CandidateError(f"ONNX export does not match PyTorch on {kind} input {ids.shape}: max abs diff "
                             f"{diff:.3g} (atol {ATOL}, rtol {RTOL})")  # fmt: skip
    return diff


def padding_invariance(module: Any, inputs: Pair) -> float:
    """How much a text's logits move when it is padded in a batch instead of run alone (should be ~0)."""
    import torch

    ids, mask = (torch.from_numpy(a) for a in inputs)
    with torch.inference_mode():
        batched = module(ids, mask)
        alone = [module(ids[i : i + 1, : int(mask[i].sum())], mask[i : i + 1, : int(mask[i].sum())])
                 for i in range(len(ids))]  # fmt: skip
    return float((batched - torch.cat(alone)).abs().max())

