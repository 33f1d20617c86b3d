"""How a batch's inputs and labels differ from the test set's, so that a drop comes with a likely reason.

Text: the length distribution (median and p95 in tokens, two-sample Kolmogorov-Smirnov statistic).
Arrays and tables: every feature's standardised mean difference (batch mean - test mean over the pooled
standard deviation), the five largest. Both: the label mix. Pure numpy (scipy for the KS p-value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

KS_NOTABLE = 0.2  # lengths: a KS statistic this large (and significant) is a shift worth naming
SMD_NOTABLE = 0.5  # features: half a pooled standard deviation ("medium" by Cohen's convention)
SHARE_NOTABLE = 0.10  # labels: a class's share moved by ten points
TOP = 5


def length_shift(test_lengths: np.ndarray, batch_lengths: np.ndarray) -> dict[str, Any]:
    from scipy.stats import ks_2samp

    ks = ks_2samp(test_lengths, batch_lengths)
    return {
        "test": {"median": float(np.median(test_lengths)), "p95": float(np.percentile(test_lengths, 95))},
        "batch": {"median": float(np.median(batch_lengths)), "p95": float(np.percentile(batch_lengths, 95))},
        "ks": float(ks.statistic), "ks_p": float(ks.pvalue),
    }  # fmt: skip


def feature_shift(x_test: np.ndarray, x_batch: np.ndarray, names: list[str] | None = None) -> list[dict[str, Any]]:
    """The TOP features by |standardised mean difference|; a feature constant in both is never shifted."""
    a = x_test.reshape(len(x_test), -1).astype(np.float64)
    b = x_batch.reshape(len(x_batch), -1).astype(np.float64)
    pooled = np.sqrt((a.var(axis=0) + b.var(axis=0)) / 2)
    diff = b.mean(axis=0) - a.mean(axis=0)
    smd = np.where(pooled > 1e-12, diff / np.maximum(pooled, 1e-12), np.where(np.abs(diff) > 1e-12, np.inf, 0.0))
    order = np.argsort(-np.abs(smd), kind="stable")[:TOP]
    shape = x_test.shape[1:]
    label = (lambda i: names[i]) if names and len(names) == a.shape[1] else (
        lambda i: "x[" + ",".join(map(str, np.unravel_index(i, shape))) + "]")  # fmt: skip
    return [{"feature": label(int(i)), "smd": float(smd[i]), "test_mean": float(a[:, i].mean()),
             "batch_mean": float(b[:, i].mean())} for i in order]  # fmt: skip


def label_shift(y_test: np.ndarray, y_batch: np.ndarray, names: list[str]) -> list[dict[str, Any]]:
    k = len(names)
    t = np.bincount(y_test, minlength=k) / max(len(y_test), 1)
    b = np.bincount(y_batch, minlength=k) / max(len(y_batch), 1)
    order = np.argsort(-np.abs(b - t), kind="stable")[:TOP]
    return [{"label": names[i], "test_share": float(t[i]), "batch_share": float(b[i])} for i in order]


def input_shift(task: Any, spec: Any, x_batch: np.ndarray, y_batch: np.ndarray) -> dict[str, Any]:
    """Everything the report shows about the shift, plus the likeliest reason in one sentence."""
    names = [str(n) for n in task.info.get("labels") or range(task.num_classes)]
    out: dict[str, Any] = {"labels": label_shift(task.y_test, y_batch, names)}
    if task.kind == "text":
        from archbench.tasks.text_slices import token_lengths

        ref = getattr(spec, "length_tokenizer", None)
        test_len, unit = token_lengths([str(t) for t in task.x_test], ref)
        batch_len, _ = token_lengths([str(t) for t in x_batch], ref)
        out["lengths"] = {**length_shift(test_len, batch_len), "unit": unit.split(" (")[0]}
    else:
        features = task.info.get("feature_names") or task.info.get("columns")
        out["features"] = feature_shift(task.x_test, x_batch, features if isinstance(features, list) else None)
    out["likely_reason"] = likely_reason(out)
    return out


def likely_reason(shift: dict[str, Any]) -> str:
    reasons = []
    lengths = shift.get("lengths")
    if lengths and lengths["ks"] >= KS_NOTABLE and lengths["ks_p"] < 0.01:
        t, b = lengths["test"], lengths["batch"]
        way = "longer" if b["median"] > t["median"] else "shorter"
        reasons.append(f"inputs are {way}: median {b['median']:g} {lengths['unit']} vs {t['median']:g} in the test "
                       f"set (KS {lengths['ks']:.2f})")  # fmt: skip
    top = (shift.get("features") or [None])[0]
    if top and abs(top["smd"]) >= SMD_NOTABLE:
        reasons.append(f"feature {top['feature']} shifted by {top['smd']:+.2f} pooled standard deviations")
    lab = shift["labels"][0] if shift.get("labels") else None
    if lab and abs(lab["batch_share"] - lab["test_share"]) >= SHARE_NOTABLE:
        reasons.append(f"label mix changed: {lab['label']} is {lab['batch_share']:.0%} of the batch vs "
                       f"{lab['test_share']:.0%} of the test set")  # fmt: skip
    if not reasons:
        return ("no large input or label-mix shift: a drop more likely comes from the labels themselves or a "
                "changed input/label relationship")  # fmt: skip
    return "; ".join(reasons)
