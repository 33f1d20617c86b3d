"""archbench: choose a model architecture for real deployment hardware."""

__version__ = "0.1.0"
SCHEMA_VERSION = "1.2"


def min_samples_to_pass(percentile: str | float = "p95", confidence: float = 0.99) -> int:
    """Fewest latency samples that can prove a percentile budget is met under the default plan.

    p90 51, p95 104, p99 528 at confidence 0.99, with the exact worst-case wrong-verdict probability
    <= 1 - confidence; MLPerf LoadGen's early stopping needs 64 / 130 / 662. Imports no torch.
    """
    from archbench.measure.stats import min_samples_to_pass as _impl

    return _impl(percentile, confidence)


__all__ = ["SCHEMA_VERSION", "__version__", "min_samples_to_pass"]
