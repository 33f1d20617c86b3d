"""Gate a model choice in code review: fail when the chosen model is infeasible, dominated or regressed.

Pure: reads result.json files, imports no torch. Regressions are decided with statistics on the raw
samples both runs kept: a latency regression needs the new run's lower confidence bound on the
budgeted percentile to exceed the baseline's upper bound by more than the tolerance, so one noisy run
neither passes a real regression nor fails an unchanged model (an overlap is "inconclusive", which
does not fail the gate unless --strict).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from archbench.config import PERCENTILES
from archbench.errors import ConfigError
from archbench.measure.stats import quantile_bounds
from archbench.result import Result


@dataclass
class Check:
    name: str
    status: str  # "pass" | "fail" | "inconclusive"
    detail: str


def parse_choice(choice: str) -> tuple[str, str]:
    cand, sep, variant = choice.partition("/")
    if not sep or not cand or not variant:
        raise ConfigError("--choose", "choose", f"{choice!r} must be CANDIDATE/VARIANT, e.g. cnn-small/onnx")
    return cand, variant


def _find(results: list[Result], cand: str, variant: str, profile: str, file: str | Path) -> Result:
    for r in results:
        if (r.candidate, r.variant, r.profile) == (cand, variant, profile):
            return r
    raise ConfigError(file, "results", f"no result for {cand}/{variant} on profile {profile!r}")


def gate(results: list[Result], meta: dict, choice: str, profiles: list[str] | None, file: str | Path,
         baseline: tuple[dict, list[Result]] | None = None, tolerance: float = 0.05,
         confidence: float = 0.99) -> list[Check]:  # fmt: skip
    cand, variant = parse_choice(choice)
    names = profiles or sorted({r.profile for r in results if r.status != "skipped"})
    checks: list[Check] = []
    for name in names:
        r = _find(results, cand, variant, name, file)
        checks += _feasible_and_on_front(r, results)
        if baseline is not None:
            base_meta, base_results = baseline
            b = _find(base_results, cand, variant, name, "--baseline")
            checks += _regressions(r, b, meta, base_meta, tolerance, confidence)
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


def _regressions(r: Result, b: Result, meta: dict, base_meta: dict, tol: float, confidence: float) -> list[Check]:
    if r.status != "ok" or b.status != "ok":
        return []
    out = []
    machine, base_machine = meta.get("run", {}).get("machine"), base_meta.get("run", {}).get("machine")
    if machine and base_machine and machine != base_machine:
        out.append(Check(f"{r.profile}: same machine", "inconclusive",
                         f"baseline measured on machine {base_machine}, this run on {machine}"))  # fmt: skip
    pct = r.latency_decision.percentile if r.latency_decision else "p95"
    q, alpha = PERCENTILES[pct], 1 - confidence
    new_lo, new_hi = quantile_bounds(np.sort(np.asarray(r.latency_samples_ms)), q, alpha)
    old_lo, old_hi = quantile_bounds(np.sort(np.asarray(b.latency_samples_ms)), q, alpha)
    new_est, old_est = r.latency.get(pct), b.latency.get(pct)
    detail = f"{pct} {old_est:.4g} -> {new_est:.4g} ms (new in [{new_lo:.4g}, {new_hi:.4g}], " \
             f"baseline in [{old_lo:.4g}, {old_hi:.4g}], tolerance {tol:.0%})"  # fmt: skip
    # A run measured on a slowed core (disturbed) reads slow: it can still prove "no slower" when it is
    # the new run, or "slower" when it is the baseline, but not the other way round.
    if new_lo > old_hi * (1 + tol):
        status, why = ("fail", "regressed: ") if not r.disturbed else ("inconclusive", "slower, but measured on a "
                                                                       "slowed core (disturbed): ")  # fmt: skip
    elif new_hi <= old_lo * (1 + tol):  # confident that new <= baseline * (1 + tol)
        status, why = ("pass", "no regression: ") if not b.disturbed else ("inconclusive", "not slower, but the "
                                                                           "baseline was disturbed: ")  # fmt: skip
    else:
        status, why = "inconclusive", "cannot tell: "
    out.append(Check(f"{r.profile}: latency", status, why + detail))
    if r.accuracy is not None and b.accuracy is not None:
        status = "fail" if r.accuracy < b.accuracy - tol * b.accuracy else "pass"
        out.append(Check(f"{r.profile}: accuracy", status, f"{b.accuracy:.4f} -> {r.accuracy:.4f}"))
    new_mem, old_mem = r.peak_memory_mb, b.peak_memory_mb
    if new_mem is not None and old_mem is not None:
        status = "fail" if new_mem > old_mem * (1 + tol) else "pass"
        out.append(Check(f"{r.profile}: memory", status, f"{old_mem:.1f} -> {new_mem:.1f} MB"))
    return out


def verdict(checks: list[Check], strict: bool) -> bool:
    bad = {"fail", "inconclusive"} if strict else {"fail"}
    return not any(c.status in bad for c in checks)
