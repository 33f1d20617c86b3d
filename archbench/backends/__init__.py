"""Runtimes: one module per variant (torch eager, ONNX Runtime fp32, ONNX Runtime int8), registered by
name in archbench/registry.py. See backends/variant.py for the interface they share."""
