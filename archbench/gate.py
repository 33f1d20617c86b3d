"""Gate a model choice in code review: fail when the chosen model is infeasible, dominated or regressed.

Pure: reads result.json files, imports no torch. Regressions are decided with statistics on the raw data
both runs kept, at a stated false-alarm rate (1 - confidence):

- Latency: a two-sample test of the ratio R = new percentile / baseline percentile. Each run's percentile
  gets distribution-free order-statistic bounds at (1 - confidence) / 2 (Bonferroni over the two runs),
  so [new_low / base_high, new_high / base_low] bounds R with confidence `confidence`. The gate fails
  when R is surely above 1 + tolerance ("regressed"), passes when R is surely at or below it, and is
  inconclusive otherwise. It prints the smallest regression it could detect (95% power) with these
  samples, and how many samples per run would detect a regression of tolerance + 5 points.
- Accuracy: an absolute tolerance in points. When both runs scored the same test set (predictions and
  the labels in the result's meta), the drop is bounded by the exact conditional (McNemar) binomial on
  the discordant samples; otherwise on the two runs' Clopper-Pearson intervals (Bonferroni).
- --strict fails on "could not rule out a regression larger than the tolerance" (an inconclusive
  check), never on noise alone: an unchanged model measured with enough samples passes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from archbench.config import PERCENTILES
from archbench.errors import ConfigError
from archbench.measure.accuracy import clopper_pearson
from archbench.measure.stats import quantile_bounds
from archbench.result import Result

POWER = 0.95  # the power at which "the smallest detectable regression" is stated
SELECTION_FILE = "archbench.yaml"


@dataclass
class Check:
    name: str
    status: str  # "pass" | "fail" | "inconclusive"
    detail: str


@dataclass(frozen=True)
class RatioTest:
    """The two-sample test of new/baseline percentile; false-alarm rate <= alpha."""

    estimate: float
    lower: float  # confidence bounds on the true ratio
    upper: float
    status: str  # "fail" (surely > 1 + tol) | "pass" (surely <= 1 + tol) | "inconclusive"
    detectable: float  # smallest relative regression detected with POWER at these sample counts
    samples_needed: int | None  # per run: detect `target` with POWER, and pass an unchanged model under --strict
    target: float


def ratio_test(new_ms: np.ndarray, base_ms: np.ndarray, q: float, confidence: float, tolerance: float,
               target: float | None = None) -> RatioTest:  # fmt: skip
    """Distribution-free test of new_q / base_q against 1 + tolerance (see the module docstring)."""
    alpha = 1 - confidence
    new, base = np.sort(np.asarray(new_ms, dtype=np.float64)), np.sort(np.asarray(base_ms, dtype=np.float64))
    n_lo, n_hi = quantile_bounds(new, q, alpha / 2)
    b_lo, b_hi = quantile_bounds(base, q, alpha / 2)
    est = float(np.quantile(new, q) / np.quantile(base, q)) if len(new) and len(base) else math.nan
    lower = n_lo / b_hi if b_hi > 0 and math.isfinite(b_hi) and n_lo > 0 else 0.0
    upper = n_hi / b_lo if b_lo > 0 and math.isfinite(n_hi) else math.inf
    limit = 1 + tolerance
    status = "fail" if lower > limit else ("pass" if upper <= limit else "inconclusive")
    target = tolerance + 0.05 if target is None else target
    # The margin (log) between the estimate and the lower bound is z_a standard errors of log R; a
    # regression is detected with POWER when its log exceeds log(limit) + (z_a + z_power) standard errors.
    z_a, z_p = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(POWER)
    if lower > 0 and math.isfinite(est) and est > 0:
        se = math.log(est / lower) / z_a
        detectable = limit * math.exp((z_a + z_p) * se) - 1
        gap = math.log((1 + target) / limit)
        n = min(len(new), len(base))
        # enough samples to detect `target` with POWER, and for an unchanged model to pass --strict
        # (upper bound <= 1 + tolerance) with probability >= confidence
        z_c = NormalDist().inv_cdf(confidence)
        need_detect = ((z_a + z_p) * se / gap) ** 2 if gap > 0 else math.inf
        need_strict = ((z_a + z_c) * se / math.log(limit)) ** 2 if tolerance > 0 else math.inf
        worst = max(need_detect, need_strict)
        needed = math.ceil(n * worst) if se > 0 and math.isfinite(worst) else None
    else:
        detectable, needed = math.inf, None
    return RatioTest(est, lower, upper, status, detectable, needed, target)


def accuracy_drop_test(new: Result, base: Result, confidence: float, tolerance: float,
                       labels: list[int] | None) -> tuple[str, str]:  # fmt: skip
    """(status, detail) for "accuracy fell by more than tolerance points" at false-alarm rate 1 - c."""
    alpha = 1 - confidence
    n = len(labels) if labels else 0
    point = f"{base.accuracy:.4f} -> {new.accuracy:.4f}, tolerance {tolerance * 100:g} points"
    if n and len(new.predictions) == n and len(base.predictions) == n:
        y = np.asarray(labels)
        right_new, right_base = np.asarray(new.predictions) == y, np.asarray(base.predictions) == y
        lost = int(np.sum(right_base & ~right_new))  # discordant pairs: c ~ Bin(m, pi) given m
        m = lost + int(np.sum(~right_base & right_new))
        lo, hi = clopper_pearson(lost, m, 1 - alpha / 2) if m else (0.5, 0.5)
        drop_lo, drop_hi = m * (2 * lo - 1) / n, m * (2 * hi - 1) / n
        how = f"paired on {n} test samples ({m} discordant)"
    else:
        acc_n = _test_size(new) or _test_size(base)
        if acc_n is None:
            drop = (base.accuracy or 0) - (new.accuracy or 0)
            status = "fail" if drop > tolerance else "pass"
            return status, f"{point} (point values: test-set size unknown)"
        nl, nh = _interval(new, acc_n, 1 - alpha / 2)
        bl, bh = _interval(base, _test_size(base) or acc_n, 1 - alpha / 2)
        drop_lo, drop_hi = bl - nh, bh - nl
        how = f"unpaired Clopper-Pearson on n={acc_n}"
    status = "fail" if drop_lo > tolerance else ("pass" if drop_hi <= tolerance else "inconclusive")
    why = {"fail": "dropped: ", "pass": "no drop beyond tolerance: ", "inconclusive": "cannot tell: "}[status]
    return status, f"{why}{point}; drop in [{drop_lo * 100:.2f}, {drop_hi * 100:.2f}] points, {how}"


def _test_size(r: Result) -> int | None:
    if r.predictions:
        return len(r.predictions)
    n = r.meta.get("test_size") if isinstance(r.meta, dict) else None
    return int(n) if n else None


def _interval(r: Result, n: int, confidence: float) -> tuple[float, float]:
    k = round((r.accuracy or 0.0) * n)
    return clopper_pearson(k, n, confidence)


def parse_choice(choice: str, where: str = "--choose") -> tuple[str, str]:
    cand, sep, variant = str(choice).partition("/")
    if not sep or not cand or not variant:
        raise ConfigError(where, "choose", f"{choice!r} must be CANDIDATE/VARIANT, e.g. cnn-small/onnx")
    return cand, variant


@dataclass(frozen=True)
class Selection:
    """What archbench.yaml in the user's repo says: the chosen model per profile, and gate settings."""

    choose: dict[str, str]  # profile -> CANDIDATE/VARIANT ("*": every measured profile)
    baseline: Path | None = None
    tolerance: float = 0.05
    accuracy_tolerance: float = 0.01
    confidence: float = 0.99
    strict: bool = False


def read_selection(path: Path) -> Selection:
    """Parse archbench.yaml; every problem is a one-line ConfigError naming the file and key."""
    import yaml

    from archbench.userfiles import read_user_text

    try:
        data = yaml.safe_load(read_user_text(path, "YAML file"))
    except yaml.YAMLError as exc:
        raise ConfigError(path, "<file>", f"not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "<root>", "must be a mapping with a 'choose' key")
    unknown = sorted(set(data) - {"choose", "baseline", "tolerance", "accuracy_tolerance", "confidence", "strict"})
    if unknown:
        raise ConfigError(path, unknown[0], "unknown key")
    raw = data.get("choose")
    if isinstance(raw, str):
        choose = {"*": raw}
    elif isinstance(raw, dict) and raw:
        choose = {str(k): str(v) for k, v in raw.items()}
    else:
        raise ConfigError(path, "choose", "give CANDIDATE/VARIANT, or a mapping profile -> CANDIDATE/VARIANT")
    for prof, choice in choose.items():
        parse_choice(choice, f"{path}: choose.{prof}")
    out: dict[str, Any] = {"choose": choose}
    for key, lo, hi in (("tolerance", 0.0, 10.0), ("accuracy_tolerance", 0.0, 1.0), ("confidence", 0.5, 0.999999)):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
                raise ConfigError(path, key, f"must be a number in [{lo:g}, {hi:g}], got {value!r}")
            out[key] = float(value)
    if "strict" in data:
        if not isinstance(data["strict"], bool):
            raise ConfigError(path, "strict", f"must be true or false, got {data['strict']!r}")
        out["strict"] = data["strict"]
    if data.get("baseline") is not None:
        out["baseline"] = (path.parent / str(data["baseline"])).resolve()
    return Selection(**out)


def _find(results: list[Result], cand: str, variant: str, profile: str, file: str | Path) -> Result:
    for r in results:
        if (r.candidate, r.variant, r.profile) == (cand, variant, profile):
            return r
    raise ConfigError(file, "results", f"no result for {cand}/{variant} on profile {profile!r}")


def gate(results: list[Result], meta: dict, choice: str | dict[str, str], profiles: list[str] | None,
         file: str | Path, baseline: tuple[dict, list[Result]] | None = None, tolerance: float = 0.05,
         confidence: float = 0.99, accuracy_tolerance: float = 0.01) -> list[Check]:  # fmt: skip
    """Checks of the chosen model: one CANDIDATE/VARIANT for every profile, or a mapping per profile."""
    per_profile = {"*": choice} if isinstance(choice, str) else dict(choice)
    measured = sorted({r.profile for r in results if r.status != "skipped"})
    names = profiles or ([p for p in per_profile if p != "*"] if "*" not in per_profile else measured)
    checks: list[Check] = []
    for name in names:
        chosen = per_profile.get(name, per_profile.get("*"))
        if chosen is None:
            raise ConfigError(file, "choose", f"no model chosen for profile {name!r}")
        cand, variant = parse_choice(chosen)
        r = _find(results, cand, variant, name, file)
        checks += _feasible_and_on_front(r, results)
        if baseline is not None:
            base_meta, base_results = baseline
            b = _find(base_results, cand, variant, name, "--baseline")
            checks += _regressions(r, b, meta, base_meta, tolerance, confidence, accuracy_tolerance)
    return checks


def _feasible_and_on_front(r: Result, results: list[Result]) -> list[Check]:
    where = f"{r.candidate}/{r.variant} on {r.profile}"
    if r.status != "ok":
        return [Check(f"{r.profile}: measured", "fail", f"{where} {r.status}: {r.error}")]
    broken = [f"{v.budget} {v.value:.4g} vs {v.limit:.4g}" for v in r.verdicts if v.status == "fail"]
    undecided = [v.budget for v in r.verdicts if v.status == "undecided"]
    out = []
    if broken:
        out.append(Check(f"{r.profile}: feasible", "fail", f"{where} breaks " + "; ".join(broken)))
    elif undecided:
        out.append(Check(f"{r.profile}: feasible", "inconclusive", f"{where} undecided on " + ", ".join(undecided)))
    else:
        out.append(Check(f"{r.profile}: feasible", "pass", f"{where} meets every budget"))
    if r.feasibility == "feasible":
        if r.on_front:
            out.append(Check(f"{r.profile}: on the front", "pass", f"{where} is not dominated"))
        else:
            better = [f"{o.candidate}/{o.variant}" for o in results if o.profile == r.profile and o.on_front]
            out.append(Check(f"{r.profile}: on the front", "fail",
                             f"{where} is dominated; the front is " + ", ".join(better)))  # fmt: skip
    return out


def latency_check(r: Result, b: Result, tol: float, confidence: float) -> Check:
    pct = r.latency_decision.percentile if r.latency_decision else "p95"
    t = ratio_test(np.asarray(r.latency_samples_ms), np.asarray(b.latency_samples_ms), PERCENTILES[pct],
                   confidence, tol)  # fmt: skip
    new_est, old_est = r.latency.get(pct, math.nan), b.latency.get(pct, math.nan)
    see = f"this gate can see regressions of >= {t.detectable:.0%} here" if math.isfinite(t.detectable) \
        else "too few samples to see any regression"  # fmt: skip
    need = f"; {t.samples_needed} samples per run would see {t.target:.0%}" if t.samples_needed else ""
    detail = f"{pct} {old_est:.4g} -> {new_est:.4g} ms, ratio {t.estimate:.3f} in [{t.lower:.3f}, {t.upper:.3f}] " \
             f"(tolerance {tol:.0%}, false-alarm rate {1 - confidence:.2g}; {see}{need})"  # fmt: skip
    # A run measured on a slowed core (disturbed) reads slow: it can still prove "no slower" when it is
    # the new run, or "slower" when it is the baseline, but not the other way round.
    if t.status == "fail":
        status, why = ("fail", "regressed: ") if not r.disturbed else \
            ("inconclusive", "slower, but measured on a slowed core (disturbed): ")  # fmt: skip
    elif t.status == "pass":
        status, why = ("pass", "no regression: ") if not b.disturbed else \
            ("inconclusive", "not slower, but the baseline was disturbed: ")  # fmt: skip
    else:
        status, why = "inconclusive", f"cannot rule out a regression above {tol:.0%}: "
    return Check(f"{r.profile}: latency", status, why + detail)


def _regressions(r: Result, b: Result, meta: dict, base_meta: dict, tol: float, confidence: float,
                 acc_tol: float) -> list[Check]:  # fmt: skip
    if r.status != "ok" or b.status != "ok":
        return []
    out = []
    machine, base_machine = meta.get("run", {}).get("machine"), base_meta.get("run", {}).get("machine")
    if machine and base_machine and machine != base_machine:
        out.append(Check(f"{r.profile}: same machine", "inconclusive",
                         f"baseline measured on machine {base_machine}, this run on {machine}"))  # fmt: skip
    if r.latency_samples_ms and b.latency_samples_ms:
        out.append(latency_check(r, b, tol, confidence))
    if r.accuracy is not None and b.accuracy is not None:
        labels, base_labels = meta.get("run", {}).get("test_labels"), base_meta.get("run", {}).get("test_labels")
        same_set = labels is not None and labels == base_labels
        status, detail = accuracy_drop_test(r, b, confidence, acc_tol, labels if same_set else None)
        out.append(Check(f"{r.profile}: accuracy", status, detail))
    new_mem, old_mem = r.peak_memory_mb, b.peak_memory_mb
    if new_mem is not None and old_mem is not None:
        status = "fail" if new_mem > old_mem * (1 + tol) else "pass"
        out.append(Check(f"{r.profile}: memory", status, f"{old_mem:.1f} -> {new_mem:.1f} MB"))
    return out


def verdict(checks: list[Check], strict: bool) -> bool:
    """Passed? Without --strict only a decided failure fails; with it, so does any check that could not
    rule out a problem larger than the tolerance (inconclusive)."""
    bad = {"fail", "inconclusive"} if strict else {"fail"}
    return not any(c.status in bad for c in checks)


def markdown(checks: list[Check], passed: bool) -> str:
    """The gate's outcome as a pull-request comment."""
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}
    lines = [f"### archbench gate: {'passed' if passed else 'failed'}", "", "| | check | detail |", "|---|---|---|"]
    for c in checks:
        detail = c.detail.replace("|", "\\|")
        lines.append(f"| {icon[c.status]} | {c.name} | {detail} |")
    return "\n".join(lines) + "\n"
