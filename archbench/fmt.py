"""Numbers for people: '0.022 ms', '177k/s', '81 MB', '3.1 s'. Never exponent notation.

One module so every table, log line, summary and figure spells a number the same way. Machine-read
files (result.json, results.csv) keep full precision and do not use it.
"""

from __future__ import annotations

import math

MISSING = "-"


def num(value: float | int | None, sig: int = 3) -> str:
    """`sig` significant digits in positional notation, trailing zeros dropped: 0.0221, 1.05, 20, 12345."""
    if value is None:
        return MISSING
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def si(value: float | int | None, sig: int = 3) -> str:
    """Large counts with a k/M/G suffix: 950, 17.7k, 177k, 1.2M."""
    if value is None:
        return MISSING
    value = float(value)
    if not math.isfinite(value):
        return num(value)
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return num(value / factor, sig) + suffix
    return num(value, sig)


def ms(value: float | None) -> str:
    """A latency with its unit: '0.022 ms', '12.3 ms', '1.5 s' past a second."""
    if value is None:
        return MISSING
    if math.isfinite(value) and abs(value) >= 1000:
        return f"{num(value / 1000)} s"
    return f"{num(value)} ms"


def interval(lower: float | None, upper: float | None) -> str:
    """'[0.021, 0.026]' (bare numbers, the unit is said once beside it)."""
    return f"[{num(lower)}, {num(upper)}]"


def mb(value: float | None) -> str:
    """Memory: '81 MB', '0.12 MB', '1.2 GB'."""
    if value is None:
        return MISSING
    if math.isfinite(value) and abs(value) >= 10_000:
        return f"{num(value / 1024)} GB"
    return f"{num(value)} MB"


def rate(value: float | None) -> str:
    """Throughput: '177k/s'."""
    return MISSING if value is None else f"{si(value)}/s"


def seconds(value: float | None) -> str:
    """A duration: '0.4 s', '3.1 s', '2 min 05 s', '1 h 02 min'."""
    if value is None:
        return MISSING
    if not math.isfinite(value) or value < 60:
        return f"{num(value, 2) if value < 10 else num(round(value), 3)} s"
    total = round(value)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def percent(fraction: float) -> str:
    """A relative difference: '0.4%' below 10%, '38%' above (so a small miss never reads '0%')."""
    if not math.isfinite(fraction):
        return "inf%"
    return f"{abs(fraction):.1%}" if abs(fraction) < 0.1 else f"{abs(fraction):.0%}"
