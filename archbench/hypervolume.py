"""Hypervolume of a front (all objectives minimised), and the search's normalised objective space.

Pure Python, exact: dimension sweep (slice along the last objective, recurse down to the 2-D
staircase). O(n^d-1 log n), plenty for the few hundred trials of a search.
"""

from __future__ import annotations

from collections.abc import Sequence


def hypervolume(points: Sequence[Sequence[float]], ref: Sequence[float]) -> float:
    """Volume dominated by the points and bounded by ref; points not strictly below ref add nothing."""
    pts = [tuple(float(x) for x in p) for p in points if all(x < r for x, r in zip(p, ref, strict=True))]
    return _hv(_nondominated(pts), tuple(float(r) for r in ref))


def _nondominated(pts: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    unique = sorted(set(pts))
    return [p for p in unique if not any(q != p and all(a <= b for a, b in zip(q, p, strict=True)) for q in unique)]


def _hv(pts: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    if not pts:
        return 0.0
    if len(ref) == 1:
        return ref[0] - min(p[0] for p in pts)
    if len(ref) == 2:
        volume, best_y = 0.0, ref[1]
        for x, y in sorted(pts):  # ascending x: each point adds the strip below the best y so far
            if y < best_y:
                volume += (ref[0] - x) * (best_y - y)
                best_y = y
        return volume
    ordered = sorted(pts, key=lambda p: p[-1])
    volume = 0.0
    for i, p in enumerate(ordered):
        top = ordered[i + 1][-1] if i + 1 < len(ordered) else ref[-1]
        if top > p[-1]:
            below = [q[:-1] for q in ordered[: i + 1]]
            volume += _hv(_nondominated(below), ref[:-1]) * (top - p[-1])
    return volume


def normalise(objectives: Sequence[float], scale: Sequence[float]) -> tuple[float, ...]:
    """Each objective divided by its reference value: the reference point becomes (1, 1, ..., 1)."""
    return tuple(v / s for v, s in zip(objectives, scale, strict=True))


def history(points: Sequence[Sequence[float] | None], scale: Sequence[float]) -> list[float]:
    """Hypervolume of the (normalised) points seen so far, after each trial; None is a trial that adds
    nothing (failed, infeasible, undecided). Reference point (1, ..., 1) after normalising by scale."""
    seen: list[tuple[float, ...]] = []
    ref = tuple(1.0 for _ in scale)
    out: list[float] = []
    current = 0.0
    for p in points:
        if p is not None:
            seen.append(normalise(p, scale))
            seen = _nondominated([q for q in seen if all(x < 1 for x in q)])
            current = _hv(seen, ref)
        out.append(current)
    return out
