"""PyTorch eager (fp32, or dynamic int8 on Linear layers), on CPU or CUDA."""

from __future__ import annotations

import io
import warnings
from typing import Any

import numpy as np
import torch

from archbench.errors import CandidateError


def load_trained_module(build: dict[str, Any], cand: dict[str, Any], sample_shape: tuple[int, ...],
                        num_classes: int) -> torch.nn.Module:  # fmt: skip
    """Rebuild the architecture and load its weights through safetensors (never pickle)."""
    from safetensors.torch import load_file

    from archbench.candidates.factory import make_module

    module = make_module(cand, sample_shape, num_classes)
    state = load_file(build["artifacts"]["weights"])
    module.load_state_dict(state)
    return module.eval()


def quantize_dynamic_int8(module: torch.nn.Module) -> torch.nn.Module:
    quant = getattr(getattr(torch, "ao", None), "quantization", None)
    if quant is None or not hasattr(quant, "quantize_dynamic"):
        raise CandidateError("this torch has no torch.ao.quantization.quantize_dynamic: torch-int8 unavailable")
    engines = torch.backends.quantized.supported_engines
    for engine in ("x86", "fbgemm", "qnnpack"):
        if engine in engines:
            torch.backends.quantized.engine = engine
            break
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # deprecated in favour of torchao, still works
        return quant.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


class TorchRunner:
    def __init__(self, build: dict[str, Any], cand: dict[str, Any], profile: dict[str, Any],
                 sample_shape: tuple[int, ...], num_classes: int, quantize: bool = False) -> None:  # fmt: skip
        torch.set_num_threads(profile["threads"])
        self.device = torch.device("cuda" if profile["device"] == "cuda" else "cpu")
        module = load_trained_module(build, cand, sample_shape, num_classes)
        if quantize:
            if self.device.type == "cuda":
                raise CandidateError("torch-int8 dynamic quantization runs on CPU only")
            module = quantize_dynamic_int8(module)
        self.module = module.to(self.device)
        buf = io.BytesIO()
        torch.save(self.module.state_dict(), buf)
        self.model_bytes = buf.tell()
        self._cuda = self.device.type == "cuda"
        self.timed_call = self._cuda_call if self._cuda else self.module  # used inside run_context()

    def run_context(self) -> Any:
        return torch.inference_mode()

    def _cuda_call(self, prepared: torch.Tensor) -> torch.Tensor:
        # The host-to-device copy is part of serving; synchronise so the timer sees the GPU work.
        out = self.module(prepared.to(self.device, non_blocking=True))
        torch.cuda.synchronize(self.device)
        return out

    def prepare(self, batch: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(np.ascontiguousarray(batch))
        return tensor.pin_memory() if self._cuda else tensor

    def __call__(self, prepared: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.timed_call(prepared)

    def logits(self, output: torch.Tensor) -> np.ndarray:
        return output.detach().float().cpu().numpy()

    def reset_device_peak(self) -> None:
        if self._cuda:
            torch.cuda.reset_peak_memory_stats(self.device)

    def device_memory(self) -> dict[str, float]:
        if not self._cuda:
            return {}
        mb = 1024 * 1024
        return {
            "gpu_peak_mb": torch.cuda.max_memory_allocated(self.device) / mb,
            "gpu_peak_reserved_mb": torch.cuda.max_memory_reserved(self.device) / mb,
        }
