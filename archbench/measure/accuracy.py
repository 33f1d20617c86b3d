"""Accuracy is a measurement too: intervals for task metrics, and a paired test between two models.

Pure: numpy, and scipy's incomplete-beta inverse (scipy comes with scikit-learn), imported lazily.
Every interval here is at the profile's confidence in the same sense as the latency bounds: each end is
a one-sided bound at that confidence, so "the floor holds" (lower end >= floor) and "the floor is
broken" (upper end < floor) are each wrong with probability at most 1 - confidence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from archbench.measure.stats import binomial_cdf

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")
BOOTSTRAP_REPS = 1000
BOOTSTRAP_SEED = 0


def clopper_pearson(k: int, n: int, confidence: float) -> tuple[float, float]:
    """Exact binomial bounds on a proportion seen as k of n: each end one-sided at `confidence`."""
    from scipy.special import betaincinv

    if n <= 0:
        return 0.0, 1.0
    alpha = 1 - confidence
    low = 0.0 if k <= 0 else float(betaincinv(k, n - k + 1, alpha))
    high = 1.0 if k >= n else float(betaincinv(k + 1, n - k, 1 - alpha))
    return low, high


def mcnemar_exact(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """McNemar's exact test on two models' per-sample correctness over the same test samples.

    Only discordant samples carry information: b = A right and B wrong, c = A wrong and B right. With no
    difference b ~ Bin(b + c, 1/2). Returns b, c and the one-sided p-values p_a_better = P(X >= b) and
    p_b_better = P(X >= c); "A surely better" at confidence c means p_a_better <= 1 - c.
    """
    a, b_ = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b_.shape:
        raise ValueError(f"paired vectors differ in length: {a.shape} vs {b_.shape}")
    b = int(np.sum(a & ~b_))
    c = int(np.sum(~a & b_))
    n = b + c
    if n == 0:
        return {"b": 0, "c": 0, "p_a_better": 1.0, "p_b_better": 1.0}
    cdf = binomial_cdf(n, 0.5)  # P(X <= k)

    def upper_tail(k: int) -> float:
        return 1.0 if k <= 0 else float(1.0 - cdf[k - 1])

    return {"b": b, "c": c, "p_a_better": upper_tail(b), "p_b_better": upper_tail(c)}


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def accuracy(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else float("nan")


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Mean recall over the classes present in y_true (sklearn's definition)."""
    cm = _confusion(np.asarray(y_true), np.asarray(y_pred), num_classes)
    support = cm.sum(axis=1)
    present = support > 0
    return float(np.mean(np.diag(cm)[present] / support[present])) if present.any() else float("nan")


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Unweighted mean F1 over classes present in y_true or y_pred (an absent class has F1 0)."""
    cm = _confusion(np.asarray(y_true), np.asarray(y_pred), num_classes)
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(axis=0) + cm.sum(axis=1)  # 2tp + fp + fn
    seen = denom > 0
    return float(np.mean(2 * tp[seen] / denom[seen])) if seen.any() else float("nan")


METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray, int], float]] = {
    "accuracy": accuracy,
    "balanced_accuracy": balanced_accuracy,
    "macro_f1": macro_f1,
}


def bootstrap_interval(metric: str, y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, confidence: float,
                       reps: int = BOOTSTRAP_REPS, seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:  # fmt: skip
    """Seeded percentile bootstrap over test samples: the (1-c) and c quantiles of the metric on `reps`
    resamples (with replacement) of the test set. Approximate, unlike Clopper-Pearson: used for the
    metrics with no exact interval (balanced accuracy, macro F1)."""
    fn = METRIC_FUNCTIONS[metric]
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = len(y_true)
    if n == 0:
        return 0.0, 1.0
    idx = np.random.default_rng(seed).integers(0, n, size=(reps, n))
    values = np.array([fn(y_true[i], y_pred[i], num_classes) for i in idx])
    return float(np.quantile(values, 1 - confidence)), float(np.quantile(values, confidence))


def metric_interval(metric: str, y_true: np.ndarray, y_pred: np.ndarray, num_classes: int,
                    confidence: float) -> dict[str, float]:  # fmt: skip
    """{value, low, high, n}: Clopper-Pearson for accuracy, the seeded bootstrap for the others."""
    if metric not in METRIC_FUNCTIONS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {', '.join(METRICS)}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    value = METRIC_FUNCTIONS[metric](y_true, y_pred, num_classes)
    if metric == "accuracy":
        low, high = clopper_pearson(int(np.sum(y_true == y_pred)), len(y_true), confidence)
    else:
        low, high = bootstrap_interval(metric, y_true, y_pred, num_classes, confidence)
    return {"value": value, "low": low, "high": high, "n": len(y_true)}


def score(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, slices: Mapping[str, np.ndarray],
          metric: str = "accuracy", confidence: float = 0.99,
          ) -> tuple[dict[str, float], dict[str, dict[str, float]]]:  # fmt: skip
    """The task metric over the test set with its interval, and every slice's accuracy with its
    Clopper-Pearson interval. A slice is a boolean mask or an index array over the test samples.

    Returns (overall {value, low, high, n}, {slice name: {accuracy, n, low, high}}).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in shape: {y_true.shape} vs {y_pred.shape}")
    overall = metric_interval(metric, y_true, y_pred, num_classes, confidence)
    per_slice: dict[str, dict[str, float]] = {}
    for name, sel in slices.items():
        sel = np.asarray(sel)
        t, p = (y_true[sel], y_pred[sel])
        k, n = int(np.sum(t == p)), len(t)
        low, high = clopper_pearson(k, n, confidence)
        per_slice[name] = {"accuracy": k / n if n else float("nan"), "n": n, "low": low, "high": high}
    return overall, per_slice
