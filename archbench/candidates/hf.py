"""Candidate kinds for text: transformers encoders, from a config (`hf-config`, trained from scratch
with a tokenizer trained offline) or a local pretrained directory (`hf-pretrained`).

Build: tokenizer, brief seeded training, safetensors, then the variants (ONNX export with dynamic
batch and sequence axes, checked on padded and unpadded inputs, and padding invariance). Serving: the
tokenizer is a timed stage of every request (TokenizerAdapter), then the model.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from archbench.backends.variant import ExportContext, produce_variants
from archbench.candidates.kind import CandidateKind, count_params, dir_hash
from archbench.errors import CandidateError
from archbench.jobs import BuildJob, BuildOutput
from archbench.tasks.base import TaskData

META_FILE = "text_model.json"
INPUT_NAMES = ("input_ids", "attention_mask")
Pair = tuple[np.ndarray, np.ndarray]  # (input_ids, attention_mask)


class TokenizerAdapter:
    """Raw strings in; tokenize with the profile's padding/truncation policy into int64 arrays (timed)."""

    input_names = INPUT_NAMES
    timed = True
    stage_name = "tokenizer"

    def __init__(self, build: BuildOutput, profile: Any) -> None:
        from tokenizers import Tokenizer

        self.meta = json.loads((Path(build.artifacts["model_dir"]) / META_FILE).read_text())
        self.tok = Tokenizer.from_file(build.artifacts["tokenizer"])
        seq_len, max_len, positions = profile.seq_len, self.meta["max_length"], self.meta.get("max_positions")
        pad = {"pad_id": self.meta["pad_id"], "pad_token": self.meta["pad_token"]}
        if isinstance(seq_len, int):
            if positions and seq_len > positions:
                raise CandidateError(f"profile seq_len {seq_len} exceeds the model's {positions} positions")
            self.tok.enable_truncation(seq_len)
            self.tok.enable_padding(length=seq_len, **pad)
            self.policy = f"fixed: every request padded or truncated to {seq_len} tokens"
        else:  # "real" or unset: the test set's own lengths
            self.tok.enable_truncation(max_len)
            self.tok.enable_padding(**pad)
            self.policy = (f"real lengths: each batch padded to its longest request, truncated at {max_len} "
                           "tokens (the model's max_length)")  # fmt: skip
        self._encode = getattr(self.tok, "encode_batch_fast", self.tok.encode_batch)  # no offsets: faster

    def prepare(self, batch: Any) -> list[str]:
        return [str(t) for t in batch]

    def encode(self, texts: list[str]) -> Pair:
        encodings = self._encode(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask


class _HfKind(CandidateKind):
    import_headroom_mb: ClassVar[float] = 3072.0  # transformers + torch reserve ~1.5 GB of address space

    def _tokenizer_and_encoder(self, cand: dict[str, Any], task: TaskData, timings: dict[str, float]) -> Any:
        raise NotImplementedError

    def build(self, job: BuildJob, task: TaskData) -> BuildOutput:
        import torch

        from archbench.candidates.text_model import TextClassifier, save_classifier
        from archbench.candidates.text_train import encode, train_end_to_end, train_frozen

        cand, tr, out_dir = job.candidate, job.train, Path(job.out_dir)
        torch.manual_seed(tr.seed)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        tok, pad_id, pad, encoder = self._tokenizer_and_encoder(cand, task, timings)
        module = TextClassifier(encoder, task.num_classes, cand["pooling"])
        ids = encode(tok, task.x_train.tolist(), cand["max_length"])
        frozen = cand.get("mode") == "frozen"
        info: dict[str, Any] = {"training": "frozen encoder, head only" if frozen else "end to end",
                                "vocab_size": tok.get_vocab_size(), "max_length": cand["max_length"],
                                "tokenizer_sha256": hashlib.sha256(tok.to_str().encode()).hexdigest()[:16]}  # fmt: skip
        info.update((train_frozen if frozen else train_end_to_end)(module, ids, task.y_train, tr.model_dump(), pad_id))
        module.eval()
        timings["train_s"] = time.perf_counter() - start

        meta = {"num_classes": task.num_classes, "labels": task.info.get("labels"), "max_length": cand["max_length"],
                "pad_id": pad_id, "pad_token": pad, "max_positions": _positions(encoder.config)}  # fmt: skip
        weights = save_classifier(module, out_dir, meta)
        tok_path = out_dir / "tokenizer.json"
        tok.save(str(tok_path))
        artifacts = {"weights": str(weights), "tokenizer": str(tok_path), "model_dir": str(out_dir)}
        padded, unpadded = verification_inputs(tok, task.x_test, cand["max_length"], pad_id)
        axes = {0: "batch", 1: "sequence"}
        ctx = ExportContext(
            module, out_dir, INPUT_NAMES, {"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
            example=padded, checks=[padded, unpadded],
            extra_check=lambda m: {"padding_invariance_max_abs_diff": padding_invariance(m, padded)},
            artifacts=artifacts, timings=timings, info=info,
        )  # fmt: skip
        produce_variants(job.variants, ctx)
        return BuildOutput(artifacts=ctx.artifacts, variant_errors=ctx.errors, timings=ctx.timings,
                           params=count_params(module), info=ctx.info)  # fmt: skip

    def load_module(self, build: BuildOutput, cand: dict[str, Any], task: TaskData) -> Any:
        from archbench.candidates.text_model import load_classifier

        return load_classifier(Path(build.artifacts["model_dir"]))[0]

    def input_adapter(self, build: BuildOutput, profile: Any, task: TaskData) -> TokenizerAdapter:
        return TokenizerAdapter(build, profile)


class HfConfigKind(_HfKind):
    """A BERT-style config with overrides, trained from scratch with a subword tokenizer of its own."""

    def _tokenizer_and_encoder(self, cand: dict[str, Any], task: TaskData, timings: dict[str, float]) -> Any:
        from archbench.candidates.text_model import encoder_from_overrides
        from archbench.candidates.text_tokenizer import pad_token, train_tokenizer

        start = time.perf_counter()
        tok = train_tokenizer(task.x_train.tolist(), cand["tokenizer"])
        pad_id, pad = pad_token(tok)
        timings["tokenizer_s"] = time.perf_counter() - start
        return tok, pad_id, pad, encoder_from_overrides(cand["config"], tok.get_vocab_size(), pad_id)


class HfPretrainedKind(_HfKind):
    """A local pretrained directory (local files only, never remote code), frozen or fine-tuned."""

    def _tokenizer_and_encoder(self, cand: dict[str, Any], task: TaskData, timings: dict[str, float]) -> Any:
        from archbench.candidates.text_model import encoder_from_pretrained
        from archbench.candidates.text_tokenizer import load_tokenizer

        tok, pad_id, pad = load_tokenizer(Path(cand["path"]) / "tokenizer.json")
        return tok, pad_id, pad, encoder_from_pretrained(cand["path"], cand.get("keep_layers"))

    def key_parts(self, cand: Any) -> list[Any]:
        return [dir_hash(cand.path)]  # the directory's files, not just its path, decide the build


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


def padding_invariance(module: Any, inputs: Pair) -> float:
    """How much a text's logits move when it is padded in a batch instead of run alone (should be ~0)."""
    import torch

    ids, mask = (torch.from_numpy(a) for a in inputs)
    with torch.inference_mode():
        batched = module(ids, mask)
        alone = [module(ids[i : i + 1, : int(mask[i].sum())], mask[i : i + 1, : int(mask[i].sum())])
                 for i in range(len(ids))]  # fmt: skip
    return float((batched - torch.cat(alone)).abs().max())
