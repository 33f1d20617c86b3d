"""Text runners: the tokenizer is a timed pipeline stage, then the model (PyTorch or ONNX Runtime).

`prepare` only turns a batch into a list of raw strings; `__call__` tokenizes, pads and runs the
model, so the measured latency is what a served request costs. Each call records its tokenizer and
model times apart, for `stage_latency_ms`. The ONNX Runtime runner imports neither torch nor
transformers: a deployment of it would not either, and its memory figure should show that.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from archbench.errors import CandidateError

META_FILE = "text_model.json"


class TokenizerStage:
    """Tokenize with the profile's padding/truncation policy into int64 arrays."""

    def __init__(self, build: dict[str, Any], profile: dict[str, Any]) -> None:
        from tokenizers import Tokenizer

        artifacts = build["artifacts"]
        self.meta = json.loads((Path(artifacts["model_dir"]) / META_FILE).read_text())
        self.tok = Tokenizer.from_file(artifacts["tokenizer"])
        seq_len, max_len, positions = profile.get("seq_len"), self.meta["max_length"], self.meta.get("max_positions")
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

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = self._encode(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return ids, mask


class _TextRunner:
    """Shared timing of the two stages; subclasses provide `_model(ids, mask)` and `logits`."""

    def _init_stages(self, build: dict[str, Any], profile: dict[str, Any]) -> None:
        self.tokenizer = TokenizerStage(build, profile)
        self.padding_policy = self.tokenizer.policy
        self._base_policy = self.tokenizer.policy
        self.reset_stages()

    def prepare(self, batch: Any) -> list[str]:
        return [str(t) for t in batch]

    def __call__(self, texts: list[str]) -> Any:
        clock = time.perf_counter_ns
        t0 = clock()
        ids, mask = self.tokenizer(texts)
        t1 = clock()
        out = self._model(ids, mask)
        t2 = clock()
        self._tok_ns.append(t1 - t0)
        self._model_ns.append(t2 - t1)
        self._widths.append(ids.shape[1])
        return out

    def _model(self, ids: np.ndarray, mask: np.ndarray) -> Any:
        raise NotImplementedError

    def reset_stages(self) -> None:
        self._tok_ns: list[int] = []
        self._model_ns: list[int] = []
        self._widths: list[int] = []

    def stage_latency_ms(self) -> dict[str, float]:
        """Per-stage p50/p95 of the calls since the last reset (the worker resets after warm-up)."""
        if not self._tok_ns:
            return {}
        tok, model = np.array(self._tok_ns) / 1e6, np.array(self._model_ns) / 1e6
        widths = np.array(self._widths)
        self.padding_policy = (f"{self._base_policy}; timed batches were {np.median(widths):g} tokens wide at "
                               f"the median, {np.percentile(widths, 95):g} at p95")  # fmt: skip
        return {
            "tokenizer_p50": float(np.median(tok)), "tokenizer_p95": float(np.percentile(tok, 95)),
            "model_p50": float(np.median(model)), "model_p95": float(np.percentile(model, 95)),
        }  # fmt: skip

    def reset_device_peak(self) -> None:
        pass

    def device_memory(self) -> dict[str, float]:
        return {}


class TextOrtRunner(_TextRunner):
    def __init__(self, path: str, build: dict[str, Any], profile: dict[str, Any]) -> None:
        import onnxruntime as ort

        from archbench.backends.ort import providers_for, session_options

        self._init_stages(build, profile)
        try:
            self.session = ort.InferenceSession(path, sess_options=session_options(profile["threads"]),
                                                providers=providers_for(profile["device"]))  # fmt: skip
        except CandidateError:
            raise
        except Exception as exc:
            raise CandidateError(f"onnxruntime cannot load {os.path.basename(path)}: {exc}") from exc
        self.model_bytes = os.path.getsize(path)

    def _model(self, ids: np.ndarray, mask: np.ndarray) -> Any:
        return self.session.run(None, {"input_ids": ids, "attention_mask": mask})

    def logits(self, output: Any) -> np.ndarray:
        return np.asarray(output[0])


class TextTorchRunner(_TextRunner):
    def __init__(self, build: dict[str, Any], profile: dict[str, Any], quantize: bool = False) -> None:
        import io

        import torch

        from archbench.backends.torch_eager import quantize_dynamic_int8
        from archbench.candidates.text_model import load_classifier

        torch.set_num_threads(profile["threads"])
        self.device = torch.device("cuda" if profile["device"] == "cuda" else "cpu")
        if quantize and self.device.type == "cuda":
            raise CandidateError("torch-int8 dynamic quantization runs on CPU only")
        self._init_stages(build, profile)
        module, _ = load_classifier(Path(build["artifacts"]["model_dir"]))
        self.module = (quantize_dynamic_int8(module) if quantize else module).to(self.device)
        buf = io.BytesIO()
        torch.save(self.module.state_dict(), buf)
        self.model_bytes = buf.tell()
        self._torch = torch

    def _model(self, ids: np.ndarray, mask: np.ndarray) -> Any:
        torch = self._torch
        with torch.inference_mode():
            if self.device.type == "cpu":
                return self.module(torch.from_numpy(ids), torch.from_numpy(mask))
            # The host-to-device copy is part of serving; synchronise so the timer sees the GPU work.
            out = self.module(torch.from_numpy(ids).to(self.device), torch.from_numpy(mask).to(self.device))
            torch.cuda.synchronize(self.device)
            return out

    def logits(self, output: Any) -> np.ndarray:
        return output.detach().float().cpu().numpy()

    def reset_device_peak(self) -> None:
        if self.device.type == "cuda":
            self._torch.cuda.reset_peak_memory_stats(self.device)

    def device_memory(self) -> dict[str, float]:
        if self.device.type != "cuda":
            return {}
        return {"gpu_peak_mb": self._torch.cuda.max_memory_allocated(self.device) / (1024 * 1024)}


def make_text_runner(variant: str, build: dict[str, Any], profile: dict[str, Any]) -> _TextRunner:
    if variant in ("torch", "torch-int8"):
        return TextTorchRunner(build, profile, quantize=variant == "torch-int8")
    if variant in build["artifacts"]:
        return TextOrtRunner(build["artifacts"][variant], build, profile)
    raise CandidateError(f"no {variant} artifact was built")
