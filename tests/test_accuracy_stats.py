"""Accuracy as a measurement: Clopper-Pearson, McNemar's exact test, task metrics, floors, the front."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binomtest
from sklearn.metrics import balanced_accuracy_score, f1_score

from archbench.config import Budget, HardwareProfile
from archbench.measure.accuracy import balanced_accuracy as bal_acc
from archbench.measure.accuracy import (
    bootstrap_interval,
    clopper_pearson,
    mcnemar_exact,
    metric_interval,
    score,
)
from archbench.measure.accuracy import macro_f1 as mf1
from archbench.pareto import check_budgets, evaluate, surely_dominates
from archbench.result import Result


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (36, 45), (950, 1000), (1, 3)])
def test_clopper_pearson_matches_the_beta_quantiles(k, n):
    low, high = clopper_pearson(k, n, 0.99)
    assert low == pytest.approx(0.0 if k == 0 else beta.ppf(0.01, k, n - k + 1), abs=1e-12)
    assert high == pytest.approx(1.0 if k == n else beta.ppf(0.99, k + 1, n - k), abs=1e-12)
    assert low <= k / n <= high


def test_clopper_pearson_coverage_by_simulation():
    rng = np.random.default_rng(0)
    p, n, c = 0.8, 45, 0.95
    ks = rng.binomial(n, p, 4000)
    lows = np.array([clopper_pearson(int(k), n, c)[0] for k in ks])
    assert np.mean(lows > p) <= 1 - c  # the lower end is wrong at most 5% of the time


def test_a_small_slice_at_080_is_not_surely_above_075():
    low, high = clopper_pearson(36, 45, 0.99)  # the example: 45 texts at 0.80
    assert low < 0.75 < high


def test_mcnemar_matches_an_exact_binomial_test():
    rng = np.random.default_rng(1)
    a = rng.random(500) < 0.9
    b = rng.random(500) < 0.85
    t = mcnemar_exact(a, b)
    assert t["b"] == np.sum(a & ~b) and t["c"] == np.sum(~a & b)
    ref = binomtest(t["b"], t["b"] + t["c"], 0.5, alternative="greater").pvalue
    assert t["p_a_better"] == pytest.approx(ref, rel=1e-9)
    assert mcnemar_exact(a, a) == {"b": 0, "c": 0, "p_a_better": 1.0, "p_b_better": 1.0}
    with pytest.raises(ValueError):
        mcnemar_exact(a, b[:-1])


def test_task_metrics_match_sklearn():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 4, 300))
    assert bal_acc(y, p, 4) == pytest.approx(balanced_accuracy_score(y, p))
    assert mf1(y, p, 4) == pytest.approx(f1_score(y, p, average="macro"))


def test_bootstrap_interval_is_seeded_and_brackets_the_value():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 400)
    p = np.where(rng.random(400) < 0.8, y, rng.integers(0, 3, 400))
    a = bootstrap_interval("macro_f1", y, p, 3, 0.95)
    assert a == bootstrap_interval("macro_f1", y, p, 3, 0.95)
    assert a[0] < mf1(y, p, 3) < a[1]
    with pytest.raises(ValueError):
        metric_interval("auc", y, p, 3, 0.95)


def test_score_overall_and_slices():
    y = np.array([0, 1, 1, 0, 1, 0, 0, 1] * 10)
    p = y.copy()
    p[:8] = 1 - p[:8]
    mask = np.zeros(len(y), dtype=bool)
    mask[:20] = True
    overall, slices = score(y, p, 2, {"head": mask, "tail": np.arange(20, 80)}, "accuracy", 0.99)
    assert overall["value"] == pytest.approx(72 / 80) and overall["n"] == 80
    assert (overall["low"], overall["high"]) == pytest.approx(clopper_pearson(72, 80, 0.99))
    assert slices["head"]["accuracy"] == pytest.approx(12 / 20) and slices["head"]["n"] == 20
    low, high = clopper_pearson(60, 60, 0.99)
    assert slices["tail"] == {"accuracy": 1.0, "n": 60, "low": low, "high": high}


def _profile(**budget):
    return HardwareProfile(name="edge", device="cpu", threads=1, budget=Budget(**budget))


def _result(acc, interval=None, slices=None, predictions=None, latency=1.0):
    return Result("m", "onnx", "edge", accuracy=acc, accuracy_interval=interval, slice_accuracy=slices or {},
                  predictions=predictions or [], latency={"p95": latency}, memory={"peak_rss_mb": 10.0})


def test_accuracy_floor_is_decided_on_the_interval():
    prof = _profile(min_accuracy=0.75, min_slice_accuracy={"long": 0.75})
    sl = {"long": {"accuracy": 0.8, "n": 45, "low": 0.62, "high": 0.9}}
    verdicts = {v.budget: v.status for v in check_budgets(_result(0.8, [0.77, 0.83], sl), prof)}
    assert verdicts == {"min_accuracy": "pass", "slice_accuracy[long]": "undecided"}
    assert check_budgets(_result(0.7, [0.65, 0.74]), _profile(min_accuracy=0.75))[0].status == "fail"
    assert check_budgets(_result(0.76, [0.7, 0.8]), _profile(min_accuracy=0.75))[0].status == "undecided"
    # without an interval (older results): the point value, as before
    assert check_budgets(_result(0.76), _profile(min_accuracy=0.75))[0].status == "pass"


def test_front_orders_accuracy_only_when_mcnemar_says_so():
    prof = _profile()
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    right = y.copy()
    a_pred = np.where(rng.random(200) < 0.02, 1 - y, y)  # ~98%
    b_pred = a_pred.copy()
    b_pred[np.nonzero(a_pred == y)[0][:3]] ^= 1  # b: 3 more mistakes than a, nowhere near significant
    a = _result(float(np.mean(a_pred == y)), predictions=a_pred.tolist(), latency=2.0)
    b = _result(float(np.mean(b_pred == y)), predictions=b_pred.tolist(), latency=2.0)
    b.candidate = "n"
    assert surely_dominates(a, b, prof)  # point values: a more accurate, same latency/memory
    assert not surely_dominates(a, b, prof, y.tolist())  # paired test: not resolved
    evaluate([a, b], {"edge": prof}, y_true=y.tolist())
    assert a.on_front and b.on_front
    c_pred = np.where(rng.random(200) < 0.3, 1 - right, right)  # ~70%: surely worse
    c = _result(float(np.mean(c_pred == y)), predictions=c_pred.tolist(), latency=2.0)
    c.candidate = "o"
    assert surely_dominates(a, c, prof, y.tolist()) and not surely_dominates(c, a, prof, y.tolist())
    evaluate([a, b, c], {"edge": prof}, y_true=y.tolist())
    assert not c.on_front and math.isfinite(c.accuracy)
