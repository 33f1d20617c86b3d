"""The calibrated stopping rule's exact worst-case error, recomputed independently, and its figures."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import binom

from archbench import min_samples_to_pass
from archbench.config import PERCENTILES, MeasureSettings
from archbench.measure.stats import (
    LOADGEN_SINGLE_STREAM_MIN,
    StoppingRule,
    binomial_pmf,
    sequential_error,
)


def reference_error(looks: list[int], pass_counts: list[int], fail_counts: list[int], p: float) -> tuple[float, float]:
    """P(stop with pass), P(stop with fail) by a plain DP over the within-budget count (scipy pmf,
    direct convolution, no trimming beyond 1e-30): an independent check of the library's computation."""
    mass = np.ones(1)
    prev, wrong_pass, wrong_fail = 0, 0.0, 0.0
    for n, u, low in zip(looks, pass_counts, fail_counts, strict=True):
        step = binom.pmf(np.arange(n - prev + 1), n - prev, p)
        mass = np.convolve(mass, step)[: n + 1]
        xs = np.arange(len(mass))
        wrong_pass += mass[xs >= u].sum()
        wrong_fail += mass[xs < low].sum()
        mass = np.where((xs >= low) & (xs < u), mass, 0.0)
        prev = n
    return wrong_pass, wrong_fail


def default_rule(pct: str, confidence: float, max_samples: int | None = None) -> StoppingRule:
    m = MeasureSettings()
    return StoppingRule(PERCENTILES[pct], confidence, 1.0, m.min_samples, max_samples or m.max_samples,
                        m.target_rel_width)  # fmt: skip


@pytest.mark.parametrize("pct", ["p50", "p90", "p95", "p99"])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_default_plan_exact_worst_case_error_is_within_budget(pct, confidence):
    # a 4,000-sample cap keeps the plain O(n^2) reference DP fast; the cap changes the looks, not the method
    rule = default_rule(pct, confidence, max_samples=4000)
    args = (rule.looks, [p.pass_count for p in rule.plan], [p.fail_count for p in rule.plan])
    ref_pass, ref_fail = reference_error(*args, rule.q)
    assert ref_pass <= 1 - confidence and ref_fail <= 1 - confidence
    assert sequential_error(*args, rule.q) == pytest.approx((ref_pass, ref_fail), rel=1e-6, abs=1e-12)
    assert rule.worst_case_error == pytest.approx((ref_pass, ref_fail), rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("pct", ["p50", "p90", "p95", "p99"])
@pytest.mark.parametrize("confidence", [0.9, 0.99, 0.999])
def test_full_default_plan_worst_case_error_is_within_budget(pct, confidence):
    rule = default_rule(pct, confidence)
    args = (rule.looks, [p.pass_count for p in rule.plan], [p.fail_count for p in rule.plan])
    wrong_pass, wrong_fail = sequential_error(*args, rule.q)
    assert wrong_pass <= 1 - confidence and wrong_fail <= 1 - confidence


@pytest.mark.parametrize("pct", ["p90", "p95", "p99"])
def test_quantile_exactly_at_the_budget_is_the_worst_case(pct):
    """P(pass) rises and P(fail) falls with p = P(latency <= budget): the worst wrong pass is at p -> q
    from below, the worst wrong fail at p = q."""
    rule = default_rule(pct, 0.99, max_samples=4000)
    args = (rule.looks, [p.pass_count for p in rule.plan], [p.fail_count for p in rule.plan])
    q = rule.q
    at_q = sequential_error(*args, q)
    for p in (q - 0.02, q - 0.005, q - 0.001):
        assert sequential_error(*args, p)[0] <= at_q[0] + 1e-15  # true quantile above budget: pass is wrong
    for p in (q + 0.001, q + 0.005, min(0.999, q + 0.02)):
        assert sequential_error(*args, p)[1] <= at_q[1] + 1e-15  # true quantile below budget: fail is wrong


def test_fewer_samples_to_pass_than_mlperf_loadgen():
    for pct, loadgen in LOADGEN_SINGLE_STREAM_MIN.items():
        ours = min_samples_to_pass(pct, 0.99)
        assert ours < loadgen
        # and no valid test can pass with fewer than the one-look floor
        assert ours >= math.ceil(math.log(0.01) / math.log(PERCENTILES[pct]))


def test_loadgen_figures_follow_from_its_formula():
    """LoadGen SingleStream needs h_min(t=1) + 1 queries: the smallest h with P(<= 1 over-latency query
    in h + 1) < 1 - confidence."""
    for pct, loadgen in LOADGEN_SINGLE_STREAM_MIN.items():
        q, h = PERCENTILES[pct], 1
        while binomial_pmf(h + 1, q)[-2:].sum() >= 0.01:
            h += 1
        assert h + 1 == loadgen


def test_min_samples_to_pass_is_where_the_rule_first_passes():
    rule = default_rule("p95", 0.99)
    n = min_samples_to_pass("p95", 0.99)
    assert n == rule.first_pass_look
    under = np.full(n, 0.5)
    assert rule.check(under)[1].verdict == "pass"
    earlier = max(x for x in rule.looks if x < n)
    assert rule.check(under[:earlier])[1].verdict == "undecided"


def test_min_samples_to_pass_imports_no_torch():
    code = "import sys; from archbench import min_samples_to_pass as m; m('p99', 0.99); " \
           "assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_time_cap_plans_fewer_looks_and_still_holds_the_error():
    m = MeasureSettings()
    slow = StoppingRule(0.95, 0.99, 1.0, m.min_samples, m.max_samples, m.target_rel_width, per_call_ms=5.0,
                        max_seconds=4.0)  # fmt: skip
    assert slow.looks[-1] == 800 and slow.sample_cap == 800
    assert max(slow.worst_case_error) <= 0.01
    # the error no longer spent on unreachable looks goes to the reachable ones
    full = default_rule("p95", 0.99)
    spent_by_800 = max(p.spent_pass for p in full.plan if p.n <= 800)
    assert slow.worst_case_error[0] > 0.009 > spent_by_800


def test_off_plan_count_uses_the_unspent_error():
    rule = default_rule("p95", 0.99)
    n = 500  # between the looks at 416 and 832, as when the time cap stops the loop
    d = rule.decide(np.linspace(0.0, 1.0, n))
    assert 0 < d.alpha_per_look <= 0.01 - rule.plan[5].spent_pass + 1e-12
    assert d.lower_ms < d.upper_ms


def test_for_profile_accepts_the_per_call_time():
    from archbench.config import HardwareProfile

    profile = HardwareProfile.model_validate(
        {"name": "x", "device": "cpu", "threads": 1, "budget": {"latency_ms": 10, "percentile": "p95"},
         "upstream": [{"name": "ocr", "latency_ms": 2}]}
    )
    assert StoppingRule.for_profile(profile).budget_ms == 8
    capped = StoppingRule.for_profile(profile, per_call_ms=1.0)
    assert capped.looks[-1] == int(profile.measure.max_seconds * 1000)
