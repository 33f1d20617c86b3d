"""Hypervolume: exact against counting unit cells, and the history of a search."""

from __future__ import annotations

import itertools
import random

import pytest

from archbench.hypervolume import history, hypervolume


def cells(points, ref):
    """Brute force on integer points: count the unit cells some point dominates."""
    ranges = [range(int(r)) for r in ref]
    grid = itertools.product(*ranges)
    return sum(any(all(c >= q for c, q in zip(cell, p, strict=True)) for p in points) for cell in grid)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_matches_cell_count(dim):
    rng = random.Random(dim)
    for _ in range(40):
        ref = [6] * dim
        points = [[rng.randrange(0, 7) for _ in range(dim)] for _ in range(rng.randrange(0, 8))]
        assert hypervolume(points, ref) == pytest.approx(cells(points, ref))


def test_known_values():
    assert hypervolume([[0.5, 0.5, 0.5]], [1, 1, 1]) == pytest.approx(0.125)
    assert hypervolume([[0, 0.5], [0.5, 0]], [1, 1]) == pytest.approx(0.75)
    assert hypervolume([[1, 0, 0]], [1, 1, 1]) == 0.0  # on the reference: adds nothing
    assert hypervolume([], [1, 1, 1]) == 0.0


def test_matches_optuna_on_random_fronts():
    np = pytest.importorskip("numpy")
    wfg = pytest.importorskip("optuna._hypervolume")
    rng = np.random.default_rng(3)
    for _ in range(10):
        pts = rng.random((25, 3))
        ref = np.ones(3)
        assert hypervolume(pts.tolist(), ref.tolist()) == pytest.approx(wfg.compute_hypervolume(pts, ref), rel=1e-9)


def test_history_grows_and_skips_infeasible():
    pts = [None, (0.5, 0.5, 0.5), (0.6, 0.6, 0.6), None, (0.1, 0.9, 0.9), (0.0, 0.0, 0.0)]
    h = history(pts, scale=(1.0, 1.0, 1.0))
    assert h[0] == 0 and h[1] == pytest.approx(0.125) and h[2] == h[1] and h[3] == h[2]
    assert h[4] > h[3] and h[5] == pytest.approx(1.0)
    assert history([(2.0, 1.0, 1.0)], scale=(4.0, 2.0, 2.0)) == [pytest.approx(0.5 * 0.5 * 0.5)]
