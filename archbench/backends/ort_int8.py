"""ONNX Runtime dynamic int8 (weights int8, activations quantised at run time), from the fp32 export.

`onnx-int8` quantises weights per tensor, `onnx-int8-pc` per output channel (keeps accuracy better).
"""

from __future__ import annotations

import time
from pathlib import Path

from archbench.backends.ort import OrtVariant
from archbench.backends.variant import ExportContext
from archbench.errors import CandidateError


def quantize_onnx(src: Path, dst: Path, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=per_channel)
    except Exception as exc:
        raise CandidateError(f"onnxruntime quantize_dynamic failed: {' '.join(str(exc).split())[:300]}") from exc


class OrtInt8Variant(OrtVariant):
    name = "onnx-int8"
    artifact = "onnx-int8"
    per_channel = False
    file = "model.int8.onnx"

    def produce(self, ctx: ExportContext) -> None:
        src = ctx.artifacts.get("onnx")
        if src is None:  # the fp32 export failed (its reason is this variant's too) or was not asked for
            if ctx.module is not None and "onnx" not in ctx.errors:
                OrtVariant().produce(ctx)
            src = ctx.artifacts.get("onnx")
            if src is None:
                ctx.errors[self.name] = ctx.errors.get("onnx", "no fp32 ONNX model to quantise")
                return
        start = time.perf_counter()
        dst = ctx.out_dir / self.file
        try:
            quantize_onnx(Path(src), dst, per_channel=self.per_channel)
            ctx.artifacts[self.name] = str(dst)
        except CandidateError as exc:
            ctx.errors[self.name] = str(exc)
        ctx.add_time("quantize_s", start)


class OrtInt8PerChannelVariant(OrtInt8Variant):
    name = "onnx-int8-pc"
    artifact = "onnx-int8-pc"
    per_channel = True
    file = "model.int8pc.onnx"
