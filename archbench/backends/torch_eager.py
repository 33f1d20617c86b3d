"""PyTorch eager, fp32 (`torch`) or dynamic int8 on Linear layers (`torch-int8`), on CPU or CUDA."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from archbench.backends.variant import InputAdapter, Runner, Variant
from archbench.errors import CandidateError


def quantize_dynamic_int8(module: Any) -> Any:
    import torch

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


class TorchRunner(Runner):
    def __init__(self, module: Any, adapter: InputAdapter, profile: Any, quantize: bool = False) -> None:
        import torch

        super().__init__(adapter)
        torch.set_num_threads(profile.threads)
        self._torch = torch
        self.device = torch.device("cuda" if profile.device == "cuda" else "cpu")
        if quantize:
            if self.device.type == "cuda":
                raise CandidateError("torch-int8 dynamic quantization runs on CPU only")
            module = quantize_dynamic_int8(module)
        self.module = module.eval().to(self.device)
        buf = io.BytesIO()
        torch.save(self.module.state_dict(), buf)
        self.model_bytes = buf.tell()
        self._cuda = self.device.type == "cuda"
        self._single = len(adapter.input_names) == 1
        if self._cuda:
            self._model = self._cuda_call
        else:  # the module itself: no Python glue in the timed call
            self._model = self.module if self._single else self._call_many

    def run_context(self) -> Any:
        return self._torch.inference_mode()

    def _bind(self, arrays: tuple[np.ndarray, ...]) -> Any:
        tensors = tuple(self._torch.from_numpy(np.ascontiguousarray(a)) for a in arrays)
        if self._cuda:
            tensors = tuple(t.pin_memory() for t in tensors)
        return tensors[0] if self._single else tensors

    def _call_many(self, feeds: tuple[Any, ...]) -> Any:
        return self.module(*feeds)

    def _cuda_call(self, feeds: Any) -> Any:
        # The host-to-device copy is part of serving; synchronise so the timer sees the GPU work.
        feeds = (feeds,) if self._single else feeds
        out = self.module(*(f.to(self.device, non_blocking=True) for f in feeds))
        self._torch.cuda.synchronize(self.device)
        return out

    def logits(self, output: Any) -> np.ndarray:
        return output.detach().float().cpu().numpy()

    def reset_device_peak(self) -> None:
        if self._cuda:
            self._torch.cuda.reset_peak_memory_stats(self.device)

    def device_memory(self) -> dict[str, float]:
        if not self._cuda:
            return {}
        mb = 1024 * 1024
        return {
            "gpu_peak_mb": self._torch.cuda.max_memory_allocated(self.device) / mb,
            "gpu_peak_reserved_mb": self._torch.cuda.max_memory_reserved(self.device) / mb,
        }


class TorchVariant(Variant):
    """The trained module itself; its weights are the build's safetensors (written by the candidate kind)."""

    name = "torch"
    needs_torch_module = True
    quantize = False

    def runner(self, build: Any, module_loader: Callable[[], Any], adapter: InputAdapter, profile: Any) -> Runner:
        return TorchRunner(module_loader(), adapter, profile, quantize=self.quantize)


class TorchInt8Variant(TorchVariant):
    """Dynamic int8 quantisation of Linear layers, applied at load (CPU only)."""

    name = "torch-int8"
    quantize = True
