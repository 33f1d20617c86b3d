"""Measurement: latency statistics (pure), the timing loop and the isolated child-process runner."""
