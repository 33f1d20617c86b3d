"""Latency statistics: binomial CDF, order-statistic bounds, the adaptive stopping rule, summaries."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archbench.measure.stats import (
    UNSTABLE_IQR_RATIO,
    Decision,
    StoppingRule,
    binomial_cdf,
    decide,
    is_unstable,
    min_samples_to_decide,
    quantile_bounds,
    summarize,
)


def brute_cdf(n: int, p: float) -> list[float]:
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    out, acc = [], 0.0
    for x in pmf:
        acc += x
        out.append(acc)
    return out


def test_pure_core_imports_without_torch():
    code = (
        "import sys; import archbench.measure.stats, archbench.pareto, archbench.config, archbench.result; "
        "heavy = [m for m in ('torch', 'onnxruntime', 'matplotlib', 'optuna') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ---- binomial_cdf ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 5, 10, 30, 60])
@pytest.mark.parametrize("p", [0.01, 0.3, 0.5, 0.9, 0.95, 0.99])
def test_binomial_cdf_matches_brute_force(n, p):
    got = binomial_cdf(n, p)
    assert got.shape == (n + 1,)
    np.testing.assert_allclose(got, brute_cdf(n, p), rtol=1e-9, atol=1e-12)


@given(n=st.integers(0, 80), p=st.floats(0.001, 0.999))
@settings(max_examples=60, deadline=None)
def test_binomial_cdf_matches_brute_force_property(n, p):
    np.testing.assert_allclose(binomial_cdf(n, p), brute_cdf(n, p), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("n", [1_000, 20_000, 200_000])
def test_binomial_cdf_large_n_is_finite_monotone_and_ends_at_one(n):
    cdf = binomial_cdf(n, 0.95)
    assert np.all(np.isfinite(cdf))
    assert np.all(np.diff(cdf) >= 0)
    assert cdf[-1] == 1.0
    assert cdf.min() >= 0.0 and cdf.max() <= 1.0
    # the median of Bin(n, 0.95) sits near 0.95 n
    assert abs(int(np.searchsorted(cdf, 0.5)) - 0.95 * n) <= 2 + 0.01 * n


def test_binomial_cdf_symmetry():
    # P(Bin(n, p) <= k) = 1 - P(Bin(n, 1 - p) <= n - k - 1)
    n, p = 40, 0.3
    a, b = binomial_cdf(n, p), binomial_cdf(n, 1 - p)
    for k in range(n):
        assert a[k] == pytest.approx(1 - b[n - k - 1], abs=1e-12)


# ---- quantile_bounds -------------------------------------------------------------------------------


def test_quantile_bounds_empty_is_infinite():
    assert quantile_bounds(np.array([]), 0.95, 0.05) == (-math.inf, math.inf)


def test_quantile_bounds_too_few_samples_gives_infinite_upper():
    # 10 samples cannot bound p95 from above at 95%: 0.95**10 = 0.60 > 0.05
    lower, upper = quantile_bounds(np.arange(1.0, 11.0), 0.95, 0.05)
    assert upper == math.inf
    assert math.isfinite(lower)


def test_quantile_bounds_too_few_samples_gives_infinite_lower():
    # the lower bound on the median needs 0.5**n <= alpha: impossible with n = 3 at alpha = 0.05
    lower, upper = quantile_bounds(np.array([1.0, 2.0, 3.0]), 0.5, 0.05)
    assert lower == -math.inf
    assert upper == math.inf
    lower, _ = quantile_bounds(np.arange(1.0, 6.0), 0.5, 0.05)  # 0.5**5 = 0.031 <= 0.05
    assert lower == 1.0


def test_quantile_bounds_are_order_statistics_that_bracket_the_sample_quantile():
    x = np.sort(np.random.default_rng(1).exponential(size=500))
    lower, upper = quantile_bounds(x, 0.95, 0.01)
    assert lower in x and upper in x
    est = float(np.quantile(x, 0.95))
    assert lower < est < upper


def test_quantile_bounds_index_rule_matches_binomial_definition():
    """Upper = the u-th order statistic, u the smallest with P(Bin<=u-1) >= 1-alpha; lower: largest l with <= alpha."""
    n, q, alpha = 300, 0.9, 0.02
    x = np.arange(1.0, n + 1)  # x[i] = i + 1, so a value tells its 1-based rank
    cdf = brute_cdf(n, q)
    u = min(k + 1 for k in range(n + 1) if cdf[k] >= 1 - alpha)
    lo = max(k + 1 for k in range(n + 1) if cdf[k] <= alpha)
    lower, upper = quantile_bounds(x, q, alpha)
    assert upper == float(u)
    assert lower == float(lo)


def test_quantile_bounds_tighten_with_more_samples():
    rng = np.random.default_rng(2)
    small = np.sort(rng.lognormal(0, 0.5, 200))
    big = np.sort(rng.lognormal(0, 0.5, 20_000))
    w_small = np.subtract(*quantile_bounds(small, 0.95, 0.01)[::-1])
    w_big = np.subtract(*quantile_bounds(big, 0.95, 0.01)[::-1])
    assert 0 < w_big < w_small / 3


def test_quantile_bounds_coverage_by_simulation():
    """Distribution-free: each one-sided 95% bound misses the true p95 in at most ~5% of experiments."""
    rng = np.random.default_rng(12345)
    mu, sigma, q, alpha, n, trials = 0.0, 0.5, 0.95, 0.05, 200, 2000
    true_q = math.exp(mu + sigma * NormalDist().inv_cdf(q))
    draws = np.sort(rng.lognormal(mu, sigma, size=(trials, n)), axis=1)
    upper_miss = lower_miss = 0
    for row in draws:
        lower, upper = quantile_bounds(row, q, alpha)
        upper_miss += upper < true_q
        lower_miss += lower > true_q
    assert upper_miss / trials < 0.08
    assert lower_miss / trials < 0.08
    # and the bounds are not trivially wide: they do miss sometimes
    assert upper_miss + lower_miss > 0


# ---- min_samples_to_decide --------------------------------------------------------------------------


def test_min_samples_known_values():
    assert min_samples_to_decide(0.95, 0.99) == 90
    assert min_samples_to_decide(0.99, 0.99) == 459
    assert min_samples_to_decide(0.5, 0.99) == 7  # 0.5**7 = 0.0078


@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99, 0.999])
def test_min_samples_is_exactly_where_an_upper_bound_first_exists(q, confidence):
    n = min_samples_to_decide(q, confidence)
    alpha = 1 - confidence
    assert q**n <= alpha < q ** (n - 1)
    x = np.arange(1.0, n + 1)
    assert math.isfinite(quantile_bounds(x, q, alpha)[1])
    assert quantile_bounds(x[:-1], q, alpha)[1] == math.inf


# ---- decide ----------------------------------------------------------------------------------------


def test_decide_verdicts():
    x = np.sort(np.random.default_rng(3).uniform(1.0, 2.0, 1000))
    assert decide(x, 0.95, 10.0, 0.01).verdict == "pass"
    assert decide(x, 0.95, 0.5, 0.01).verdict == "fail"
    assert decide(x, 0.95, 1.95, 0.01).verdict == "undecided"
    d = decide(x, 0.95, None, 0.01)
    assert d.verdict == "pass"  # no budget: nothing to break
    assert isinstance(d, Decision) and d.alpha_per_look == 0.01 and d.lower_ms < d.upper_ms


def test_decide_too_few_samples_is_undecided():
    x = np.sort(np.full(10, 1.0))
    assert decide(x, 0.95, 100.0, 0.01).verdict == "undecided"


# ---- StoppingRule ----------------------------------------------------------------------------------


RULES = [
    StoppingRule(0.95, 0.99, 10.0, 20, 20_000, 0.05),
    StoppingRule(0.99, 0.99, None, 20, 20_000, 0.05),
    StoppingRule(0.5, 0.95, 1.0, 5, 1000, 0.05),
    StoppingRule(0.95, 0.999, 1.0, 500, 100_000, 0.05, growth=1.5),
]


@pytest.mark.parametrize("rule", RULES)
def test_looks_increase_from_min_samples_include_the_first_pass_and_end_at_max(rule):
    looks = rule.looks
    assert all(a < b for a, b in itertools.pairwise(looks))
    assert looks[-1] == rule.max_samples
    assert looks[0] == rule.min_samples
    first_pass = rule.first_pass_look
    # the first pass-capable look: all samples within budget is a pass there, and at no earlier look
    plan = {p.n: p for p in rule.plan}
    assert first_pass in looks and plan[first_pass].pass_count <= first_pass
    assert all(plan[n].pass_count == n + 1 for n in looks if n < first_pass)
    # a pass there is only allowed when q**n, the chance that every sample is within budget when the
    # true quantile sits exactly on it, fits in the error budget
    assert rule.q**first_pass <= 1 - rule.confidence


@pytest.mark.parametrize("rule", RULES)
def test_plan_spends_no_more_than_the_error_budget_on_either_side(rule):
    wrong_pass, wrong_fail = rule.worst_case_error
    assert 0 < wrong_pass <= 1 - rule.confidence and 0 < wrong_fail <= 1 - rule.confidence
    spent = [(p.spent_pass, p.spent_fail) for p in rule.plan]
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(spent))
    # no error is spent on the pass side before a pass is possible
    assert all(p.spent_pass == 0 for p in rule.plan if p.n < rule.first_pass_look)
    # and the exact calibration spends most of it (Bonferroni left 40-50% unspent)
    assert wrong_pass > 0.8 * (1 - rule.confidence)


def test_looks_when_max_samples_below_first_look():
    rule = StoppingRule(0.95, 0.99, 1.0, 20, 50, 0.05)
    assert rule.looks == [20, 40, 50]
    stop, decision, why = rule.check(np.full(50, 0.1))
    assert stop and why == "max samples reached" and decision.verdict == "undecided"


def test_check_stops_when_clearly_under_budget():
    rule = StoppingRule(0.95, 0.99, 10.0, 20, 20_000, 0.05)
    n = rule.first_pass_look
    samples = np.random.default_rng(4).uniform(1.0, 2.0, n)
    stop, decision, why = rule.check(samples)
    assert stop and why == "verdict decided" and decision.verdict == "pass"
    assert decision.upper_ms <= 10.0


def test_check_stops_when_clearly_over_budget_at_the_very_first_look():
    rule = StoppingRule(0.95, 0.99, 10.0, 20, 20_000, 0.05)
    assert rule.looks[0] == 20 < rule.first_pass_look  # a fail needs far fewer samples than a pass
    samples = np.random.default_rng(5).uniform(20.0, 30.0, rule.looks[0])
    stop, decision, why = rule.check(samples)
    assert stop and why == "verdict decided" and decision.verdict == "fail"
    assert decision.lower_ms > 10.0


def test_check_does_not_stop_on_ambiguous_samples():
    rule = StoppingRule(0.95, 0.99, 10.0, 20, 20_000, 0.05)
    # the sample p95 sits right on the budget
    samples = np.random.default_rng(6).uniform(0.0, 10.0 / 0.95, rule.first_pass_look)
    stop, decision, why = rule.check(samples)
    assert not stop and why == "" and decision.verdict == "undecided"


def test_check_stops_at_max_samples_even_if_undecided():
    rule = StoppingRule(0.95, 0.99, 10.0, 20, 2000, 0.05)
    samples = np.random.default_rng(7).uniform(0.0, 10.0 / 0.95, 2000)
    stop, decision, why = rule.check(samples)
    assert stop and why == "max samples reached" and decision.verdict == "undecided"


def test_check_sorts_its_input():
    rule = StoppingRule(0.95, 0.99, 10.0, 20, 20_000, 0.05)
    samples = np.random.default_rng(8).uniform(1.0, 2.0, rule.first_pass_look)
    a = rule.check(samples)[1]
    b = rule.check(np.sort(samples))[1]
    assert a == b


def test_check_without_budget_stops_on_target_width():
    rule = StoppingRule(0.95, 0.99, None, 20, 100_000, 0.05)
    rng = np.random.default_rng(9)
    tight = rng.normal(10.0, 0.01, rule.first_pass_look)
    stop, decision, why = rule.check(tight)
    assert stop and why == "bound within target width"
    assert (decision.upper_ms - decision.lower_ms) / 10.0 <= 0.05
    wide = rng.lognormal(0.0, 1.5, rule.first_pass_look)
    stop, _, why = rule.check(wide)
    assert not stop and why == ""


def test_sequential_rule_wrong_verdicts_stay_rare():
    """Run the whole adaptive procedure; a budget just below the true p95 must rarely be judged 'pass'."""
    rng = np.random.default_rng(10)
    sigma = 0.3
    true_q = math.exp(sigma * NormalDist().inv_cdf(0.95))
    rule = StoppingRule(0.95, 0.9, true_q * 0.995, 20, 3000, 0.05)
    wrong = 0
    trials = 200
    for _ in range(trials):
        samples = rng.lognormal(0.0, sigma, rule.max_samples)
        for n in rule.looks:
            stop, decision, _ = rule.check(samples[:n])
            if stop:
                wrong += decision.verdict == "pass"
                break
    assert wrong / trials <= 0.1 + 0.05


# ---- summarize / is_unstable -------------------------------------------------------------------------


def test_summarize_keys_and_values():
    samples = [float(v) for v in range(1, 101)]
    s = summarize(samples)
    assert set(s) == {"p50", "p90", "p95", "p99", "mean", "std", "min", "max", "iqr", "n", "iqr_over_median"}
    assert s["n"] == 100
    assert s["min"] == 1.0 and s["max"] == 100.0
    assert s["mean"] == pytest.approx(50.5)
    assert s["p50"] == pytest.approx(np.quantile(samples, 0.5))
    assert s["p95"] == pytest.approx(np.quantile(samples, 0.95))
    assert s["p50"] <= s["p90"] <= s["p95"] <= s["p99"] <= s["max"]
    assert s["iqr"] == pytest.approx(np.quantile(samples, 0.75) - np.quantile(samples, 0.25))
    assert s["iqr_over_median"] == pytest.approx(s["iqr"] / s["p50"])
    assert s["std"] == pytest.approx(np.std(samples))


def test_summarize_accepts_arrays_and_empty():
    assert summarize([]) == {}
    assert summarize(np.array([2.0, 2.0, 2.0]))["iqr_over_median"] == 0.0


def test_summarize_zero_median():
    assert summarize([0.0, 0.0, 0.0])["iqr_over_median"] == math.inf


def test_is_unstable():
    steady = summarize(np.random.default_rng(11).normal(10.0, 0.05, 1000))
    noisy = summarize(np.random.default_rng(11).lognormal(0.0, 1.0, 1000))
    assert not is_unstable(steady)
    assert is_unstable(noisy)
    assert not is_unstable({})
    assert not is_unstable({"iqr_over_median": UNSTABLE_IQR_RATIO})
    assert is_unstable({"iqr_over_median": UNSTABLE_IQR_RATIO + 1e-9})
