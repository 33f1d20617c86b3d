"""Budgets -> verdicts -> feasibility -> Pareto front. Pure: no torch."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archbench.config import Budget, HardwareProfile, UpstreamStage
from archbench.pareto import (
    check_budgets,
    dominates,
    evaluate,
    feasibility,
    front,
    latency_bounds,
    objectives,
    pareto_front,
    surely_dominates,
    upstream_accuracy,
    upstream_latency_ms,
    why_nothing_feasible,
)
from archbench.result import BudgetVerdict, LatencyDecision, Result

# ---- helpers ---------------------------------------------------------------------------------------


def profile(name: str = "edge", upstream: list[dict[str, Any]] | None = None, **budget: Any) -> HardwareProfile:
    return HardwareProfile(
        name=name,
        device="cpu",
        threads=1,
        budget=Budget(**budget),
        upstream=[UpstreamStage(**u) for u in upstream or []],
    )


def decision(lower: float, upper: float, estimate: float | None = None, percentile: str = "p95") -> LatencyDecision:
    est = (lower + upper) / 2 if estimate is None else estimate
    return LatencyDecision(percentile, est, lower, upper, 0.99, 0.001, "verdict decided")


def result(
    candidate: str = "m",
    prof: str = "edge",
    *,
    accuracy: float | None = 0.9,
    p95: float | None = 5.0,
    bounds: tuple[float, float] | None = None,
    memory: float | None = 100.0,
    **extra: Any,
) -> Result:
    r = Result(candidate, "onnx", prof, accuracy=accuracy, **extra)
    if p95 is not None:
        r.latency["p95"] = p95
    if bounds is not None:
        r.latency_decision = decision(*bounds, estimate=p95)
    if memory is not None:
        r.memory["peak_rss_mb"] = memory
    return r


def only(verdicts: list[BudgetVerdict]) -> BudgetVerdict:
    assert len(verdicts) == 1, verdicts
    return verdicts[0]


# ---- dominates / pareto_front -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((1, 1, 1), (2, 2, 2), True),
        ((2, 2, 2), (1, 1, 1), False),
        ((1, 1, 1), (1, 1, 1), False),  # equal: neither dominates
        ((1, 1, 2), (1, 1, 3), True),  # no worse anywhere, better on one
        ((1, 3), (2, 2), False),  # a trade-off
        ((-0.9, 5.0, 100.0), (-0.8, 5.0, 100.0), True),  # higher accuracy is a smaller objective
        ((1.0, math.inf), (1.0, math.inf), False),
        ((1.0, 5.0), (1.0, math.inf), True),
    ],
)
def test_dominates(a, b, expected):
    assert dominates(a, b) is expected


def test_dominates_refuses_mismatched_lengths():
    with pytest.raises(ValueError):
        dominates((1, 2), (1, 2, 3))


def test_pareto_front_basic():
    assert pareto_front([]) == []
    assert pareto_front([(3, 3)]) == [0]
    points = [(1, 5), (2, 2), (5, 1), (3, 3), (6, 6), (2, 4)]
    assert pareto_front(points) == [0, 1, 2]


def test_pareto_front_keeps_identical_points_both():
    points = [(1, 2), (1, 2), (3, 3)]
    assert pareto_front(points) == [0, 1]


def test_pareto_front_ties_on_one_objective():
    # same accuracy, one is faster: only the faster stays
    assert pareto_front([(-0.9, 5, 10), (-0.9, 4, 10)]) == [1]


def test_pareto_front_single_objective_is_the_argmin_set():
    assert pareto_front([(3,), (1,), (2,), (1,)]) == [1, 3]


points_strategy = st.lists(
    st.tuples(*[st.integers(0, 6)] * 3),
    max_size=25,
)


@given(points_strategy)
@settings(max_examples=150, deadline=None)
def test_pareto_front_properties(points):
    idx = pareto_front(points)
    assert idx == sorted(set(idx))
    on = set(idx)
    if points:
        assert on, "a non-empty set always has a non-dominated point"
    for i in on:  # nothing dominates a front point
        assert not any(dominates(q, points[i]) for q in points)
    for j in set(range(len(points))) - on:  # every other point is dominated by a front point
        assert any(dominates(points[i], points[j]) for i in on)


# ---- upstream helpers -------------------------------------------------------------------------------


def test_upstream_sums_latency_and_multiplies_accuracy():
    p = profile(upstream=[{"name": "ocr", "latency_ms": 3.0, "accuracy": 0.9}, {"name": "det", "latency_ms": 1.5}])
    assert upstream_latency_ms(p) == pytest.approx(4.5)
    assert upstream_accuracy(p) == pytest.approx(0.9)
    p = profile(upstream=[{"name": "a", "accuracy": 0.5}, {"name": "b", "accuracy": 0.5}])
    assert upstream_accuracy(p) == pytest.approx(0.25)
    assert upstream_latency_ms(profile()) == 0
    assert upstream_accuracy(profile()) == 1.0


# ---- check_budgets: latency -------------------------------------------------------------------------


def test_no_budgets_no_verdicts_and_feasible():
    r = result()
    assert check_budgets(r, profile()) == []
    assert feasibility([]) == "feasible"


@pytest.mark.parametrize(
    ("bounds", "status"),
    [
        ((4.0, 6.0), "pass"),
        ((4.0, 10.0), "pass"),  # upper bound exactly at the budget fits
        ((9.0, 11.0), "undecided"),
        ((10.0, 12.0), "undecided"),  # lower bound exactly at the budget does not prove a breach
        ((10.5, 12.0), "fail"),
        ((-math.inf, math.inf), "undecided"),
        ((4.0, math.inf), "undecided"),
    ],
)
def test_latency_verdict_decided_on_bounds(bounds, status):
    p = profile(latency_ms=10.0, percentile="p95")
    r = result(p95=8.0, bounds=bounds)  # the point estimate alone would pass
    v = only(check_budgets(r, p))
    assert v.budget == "latency_p95_ms"
    assert v.status == status
    assert v.value == 8.0 and v.limit == 10.0
    assert v.constraint == pytest.approx(-2.0)
    assert "p95 in [" in v.detail


def test_latency_verdict_fail_even_though_estimate_passes():
    v = only(check_budgets(result(p95=9.9, bounds=(10.1, 11.0)), profile(latency_ms=10.0)))
    assert v.status == "fail"


def test_latency_verdict_uses_the_budget_percentile():
    p = profile(latency_ms=10.0, percentile="p99")
    r = result(p95=5.0)
    r.latency["p99"] = 12.0
    r.latency_decision = decision(11.0, 13.0, 12.0, percentile="p99")
    v = only(check_budgets(r, p))
    assert v.budget == "latency_p99_ms"
    assert v.status == "fail"
    assert v.value == 12.0


def test_latency_without_bounds_falls_back_to_point_estimate():
    p = profile(latency_ms=10.0)
    ok = only(check_budgets(result(p95=9.0), p))
    bad = only(check_budgets(result(p95=11.0), p))
    assert (ok.status, bad.status) == ("pass", "fail")
    assert "point estimate" in ok.detail
    assert bad.constraint == pytest.approx(1.0)


def test_latency_not_measured_is_undecided():
    v = only(check_budgets(result(p95=None), profile(latency_ms=10.0)))
    assert v.status == "undecided" and v.value is None and v.constraint == math.inf


def test_upstream_latency_reduces_the_budget():
    p = profile(latency_ms=10.0, upstream=[{"name": "ocr", "latency_ms": 3.0}])
    passing = only(check_budgets(result(p95=6.0, bounds=(5.5, 6.8)), p))
    assert passing.status == "pass"
    assert passing.limit == pytest.approx(7.0)
    assert "3 ms spent upstream" in passing.detail
    # would fit the whole 10 ms, but not the 7 ms left after upstream
    failing = only(check_budgets(result(p95=8.0, bounds=(7.5, 8.5)), p))
    assert failing.status == "fail"
    assert failing.constraint == pytest.approx(1.0)


def test_upstream_using_the_whole_budget_fails():
    p = profile(latency_ms=10.0, upstream=[{"name": "ocr", "latency_ms": 10.0}])
    v = only(check_budgets(result(p95=0.1, bounds=(0.05, 0.2)), p))
    assert v.status == "fail"
    assert "upstream" in v.detail
    assert v.constraint > 0


# ---- check_budgets: other budgets --------------------------------------------------------------------


def test_memory_budget():
    p = profile(memory_mb=200.0)
    v = only(check_budgets(result(memory=150.0), p))
    assert (v.budget, v.status, v.value, v.limit, v.constraint) == ("memory_mb", "pass", 150.0, 200.0, -50.0)
    assert only(check_budgets(result(memory=200.0), p)).status == "pass"
    v = only(check_budgets(result(memory=250.0), p))
    assert v.status == "fail" and v.constraint == 50.0
    assert v.relative_excess == pytest.approx(0.25)
    v = only(check_budgets(result(memory=None), p))
    assert v.status == "undecided" and v.value is None


def test_memory_budget_prefers_gpu_peak():
    r = result(memory=100.0)
    r.memory["gpu_peak_mb"] = 300.0
    v = only(check_budgets(r, profile(memory_mb=200.0)))
    assert v.value == 300.0 and v.status == "fail"


def test_min_accuracy_budget():
    p = profile(min_accuracy=0.9)
    v = only(check_budgets(result(accuracy=0.95), p))
    assert (v.budget, v.status) == ("min_accuracy", "pass")
    assert v.constraint == pytest.approx(-0.05)
    assert only(check_budgets(result(accuracy=0.9), p)).status == "pass"
    v = only(check_budgets(result(accuracy=0.85), p))
    assert v.status == "fail" and v.constraint == pytest.approx(0.05)
    v = only(check_budgets(result(accuracy=None), p))
    assert v.status == "fail" and v.value is None


def test_min_accuracy_uses_pipeline_accuracy_with_upstream():
    p = profile(min_accuracy=0.9, upstream=[{"name": "ocr", "accuracy": 0.9}])
    r = result(accuracy=0.95, pipeline_accuracy=0.855)
    v = only(check_budgets(r, p))
    assert v.status == "fail"
    assert v.value == pytest.approx(0.855)
    assert "0.900" in v.detail
    # without upstream stages the model's own accuracy counts
    assert only(check_budgets(r, profile(min_accuracy=0.9))).status == "pass"


def test_max_model_mb_budget():
    p = profile(max_model_mb=10.0)
    assert only(check_budgets(result(model_mb=9.0), p)).status == "pass"
    v = only(check_budgets(result(model_mb=12.0), p))
    assert (v.budget, v.status, v.constraint) == ("max_model_mb", "fail", 2.0)
    assert only(check_budgets(result(), p)).status == "undecided"


def test_min_throughput_budget():
    p = profile(min_throughput=1000.0)
    assert only(check_budgets(result(throughput=1500.0), p)).status == "pass"
    v = only(check_budgets(result(throughput=800.0), p))
    assert (v.budget, v.status, v.constraint) == ("min_throughput", "fail", 200.0)
    assert only(check_budgets(result(), p)).status == "fail"


@pytest.mark.parametrize(
    ("interval", "status"),
    [([1100.0, 1300.0], "pass"), ([700.0, 900.0], "fail"), ([900.0, 1300.0], "undecided"),
     ([950.0, math.inf], "undecided")],
)
def test_min_throughput_is_decided_on_its_interval(interval, status):
    """The point estimate (1,050/s) clears 1,000/s in every case; only the interval decides. An unbounded
    upper end (stored as null in JSON, read back as inf) can never show a fail."""
    r = result(throughput=1050.0, throughput_interval=interval, meta={"throughput_basis": "10 groups of calls"})
    v = only(check_budgets(r, profile(min_throughput=1000.0)))
    assert v.status == status and "10 groups of calls" in v.detail
    assert v.detail.startswith("in [")


def test_min_slice_accuracy_budget():
    p = profile(min_slice_accuracy={"short": 0.8, "long": 0.7})
    r = result(slice_accuracy={"long": {"accuracy": 0.75, "n": 40}, "short": {"accuracy": 0.6, "n": 100}})
    verdicts = check_budgets(r, p)
    assert [v.budget for v in verdicts] == ["slice_accuracy[long]", "slice_accuracy[short]"]
    assert [v.status for v in verdicts] == ["pass", "fail"]
    assert verdicts[1].constraint == pytest.approx(0.2)


def test_min_slice_accuracy_missing_slice_fails_and_says_so():
    p = profile(min_slice_accuracy={"long": 0.7})
    v = only(check_budgets(result(slice_accuracy={"short": {"accuracy": 0.99, "n": 10}}), p))
    assert v.status == "fail"
    assert v.value is None
    assert "long" in v.detail


def test_all_budgets_together_and_constraint_sign():
    p = profile(
        latency_ms=10.0,
        memory_mb=200.0,
        min_accuracy=0.8,
        max_model_mb=5.0,
        min_throughput=100.0,
        min_slice_accuracy={"a": 0.5},
    )
    r = result(
        accuracy=0.9,
        p95=5.0,
        bounds=(4.0, 6.0),
        memory=150.0,
        model_mb=6.0,
        throughput=50.0,
        slice_accuracy={"a": {"accuracy": 0.6, "n": 10}},
    )
    verdicts = check_budgets(r, p)
    names = [v.budget for v in verdicts]
    assert names == [
        "latency_p95_ms",
        "memory_mb",
        "min_accuracy",
        "max_model_mb",
        "min_throughput",
        "slice_accuracy[a]",
    ]
    status = {v.budget: v.status for v in verdicts}
    assert status == {
        "latency_p95_ms": "pass",
        "memory_mb": "pass",
        "min_accuracy": "pass",
        "max_model_mb": "fail",
        "min_throughput": "fail",
        "slice_accuracy[a]": "pass",
    }
    for v in verdicts:  # Optuna's convention: constraint <= 0 means satisfied (for decided verdicts)
        assert (v.constraint <= 0) == (v.status == "pass")
    assert feasibility(verdicts) == "infeasible"


def test_feasibility_precedence():
    def v(status: str) -> BudgetVerdict:
        return BudgetVerdict("x", status, 1.0, 1.0, 0.0)

    assert feasibility([v("pass"), v("pass")]) == "feasible"
    assert feasibility([v("pass"), v("undecided")]) == "undecided"
    assert feasibility([v("undecided"), v("fail")]) == "infeasible"


# ---- objectives -------------------------------------------------------------------------------------


def test_objectives():
    p = profile()
    assert objectives(result(accuracy=0.9, p95=5.0, memory=100.0), p) == (-0.9, 5.0, 100.0)
    missing = objectives(result(accuracy=None, p95=None, memory=None), p)
    assert missing == (-0.0, math.inf, math.inf)
    up = profile(upstream=[{"name": "ocr", "accuracy": 0.5}])
    assert objectives(result(accuracy=0.9, pipeline_accuracy=0.45), up)[0] == pytest.approx(-0.45)


def test_objectives_zero_memory_is_best_not_worst():
    p = profile()
    assert objectives(result(memory=0.0), p)[2] == 0.0
    a, b = result("a", memory=0.0), result("b", memory=5.0)
    evaluate([a, b], {"edge": p})
    assert (a.on_front, b.on_front) == (True, False)


# ---- evaluate / front / why_nothing_feasible ---------------------------------------------------------


def test_evaluate_front_only_among_feasible_results():
    p = profile(latency_ms=10.0, memory_mb=500.0)
    best_but_slow = result("slow", accuracy=0.99, p95=20.0, bounds=(18.0, 22.0), memory=50.0)
    fast = result("fast", accuracy=0.80, p95=2.0, bounds=(1.8, 2.2), memory=60.0)
    accurate = result("accurate", accuracy=0.95, p95=8.0, bounds=(7.0, 9.0), memory=120.0)
    dominated = result("dominated", accuracy=0.79, p95=3.0, bounds=(2.5, 3.5), memory=70.0)
    borderline = result("borderline", accuracy=0.97, p95=9.5, bounds=(8.0, 11.0), memory=100.0)
    out = evaluate([best_but_slow, fast, accurate, dominated, borderline], {"edge": p})
    assert [r.candidate for r in out] == ["slow", "fast", "accurate", "dominated", "borderline"]
    assert {r.candidate: r.feasibility for r in out} == {
        "slow": "infeasible",
        "fast": "feasible",
        "accurate": "feasible",
        "dominated": "feasible",
        "borderline": "undecided",
    }
    assert {r.candidate for r in out if r.on_front} == {"fast", "accurate"}
    assert all(r.verdicts for r in out)
    assert [r.candidate for r in front(out, "edge")] == ["accurate", "fast"]  # most accurate first


def test_evaluate_fronts_are_per_profile():
    edge = profile("edge", latency_ms=10.0)
    server = profile("server")
    a_edge = result("a", "edge", accuracy=0.9, p95=5.0, bounds=(4.0, 6.0))
    b_edge = result("b", "edge", accuracy=0.8, p95=6.5, bounds=(6.0, 7.0))  # surely slower and less accurate
    a_srv = result("a", "server", accuracy=0.9, p95=5.0)
    b_srv = result("b", "server", accuracy=0.8, p95=1.0)  # faster on the server: a trade-off
    out = evaluate([a_edge, b_edge, a_srv, b_srv], {"edge": edge, "server": server})
    assert [r.on_front for r in out] == [True, False, True, True]
    assert [r.candidate for r in front(out, "edge")] == ["a"]
    assert [r.candidate for r in front(out, "server")] == ["a", "b"]
    assert front(out, "nowhere") == []


def test_evaluate_failed_and_skipped_results():
    p = profile(latency_ms=10.0)
    failed = Result.failed("boom", "onnx", "edge", "RuntimeError: out of memory")
    failed.on_front = True  # stale flag from an earlier evaluation must be cleared
    skipped = Result("skip", "onnx", "edge", status="skipped")
    ok = result("ok", p95=1.0, bounds=(0.5, 1.5))
    out = evaluate([failed, skipped, ok], {"edge": p})
    assert (failed.feasibility, failed.verdicts, failed.on_front) == ("failed", [], False)
    assert (skipped.feasibility, skipped.verdicts, skipped.on_front) == ("skipped", [], False)
    assert ok.feasibility == "feasible" and ok.on_front
    assert out[0] is failed


def test_evaluate_is_repeatable_and_clears_stale_front_flags():
    p = profile(latency_ms=10.0)
    a = result("a", accuracy=0.9, p95=5.0, bounds=(4.0, 6.0))
    evaluate([a], {"edge": p})
    assert a.on_front
    a.latency_decision = decision(11.0, 12.0, 11.5)  # re-measured: now breaks the budget
    evaluate([a], {"edge": p})
    assert not a.on_front and a.feasibility == "infeasible"


def test_evaluate_identical_feasible_results_are_both_on_front():
    p = profile()
    a, b = result("a"), result("b")
    evaluate([a, b], {"edge": p})
    assert a.on_front and b.on_front


@given(
    st.lists(
        st.tuples(
            st.floats(0.1, 1.0),  # accuracy
            st.floats(1.0, 20.0),  # p95
            st.floats(10.0, 500.0),  # memory
        ),
        min_size=1,
        max_size=12,
    )
)
@settings(max_examples=60, deadline=None)
def test_evaluate_front_property(rows):
    p = profile(latency_ms=10.0, memory_mb=300.0, min_accuracy=0.5)
    results = [result(f"c{i}", accuracy=a, p95=lat, memory=m) for i, (a, lat, m) in enumerate(rows)]
    evaluate(results, {"edge": p})
    feasible = [r for r in results if r.feasibility == "feasible"]
    for r in results:
        if r.on_front:
            assert r.feasibility == "feasible"
            assert not any(dominates(objectives(o, p), objectives(r, p)) for o in feasible)
        elif r.feasibility == "feasible":
            assert any(dominates(objectives(o, p), objectives(r, p)) for o in feasible)
    assert bool(feasible) == any(r.on_front for r in results)


def test_why_nothing_feasible_names_the_budget_that_excluded_most():
    p = profile(latency_ms=10.0, memory_mb=100.0, min_accuracy=0.9)
    rs = [
        result("a", accuracy=0.95, p95=20.0, bounds=(18.0, 22.0), memory=50.0),  # latency
        result("b", accuracy=0.95, p95=30.0, bounds=(28.0, 32.0), memory=150.0),  # latency + memory
        result("c", accuracy=0.50, p95=40.0, bounds=(38.0, 42.0), memory=50.0),  # latency + accuracy
        Result.failed("d", "onnx", "edge", "crash"),
    ]
    evaluate(rs, {"edge": p})
    assert not front(rs, "edge")
    msg = why_nothing_feasible(rs, "edge")
    assert "latency_p95_ms" in msg
    assert "excluded 3 of 3" in msg
    assert "edge" in msg


def test_why_nothing_feasible_when_nothing_was_measured():
    p = profile()
    rs = [Result.failed("a", "onnx", "edge", "crash"), Result("b", "onnx", "edge", status="skipped")]
    evaluate(rs, {"edge": p})
    msg = why_nothing_feasible(rs, "edge")
    assert "no candidate was measured on edge" in msg
    assert "2 failed or skipped" in msg


def test_why_nothing_feasible_when_only_undecided():
    p = profile(latency_ms=10.0)
    rs = [result("a", p95=9.0, bounds=(8.0, 12.0)), result("b", p95=10.0, bounds=(9.0, 11.0))]
    evaluate(rs, {"edge": p})
    msg = why_nothing_feasible(rs, "edge")
    assert "2 undecided (more samples or a looser confidence)" in msg
    rs[0].meta["process_bounds_ms"] = [[8.0, 9.5], [9.6, 12.0]]  # repeats: two processes that disagree
    assert "(more processes or samples, or a looser confidence)" in why_nothing_feasible(rs, "edge")


def test_why_nothing_feasible_ignores_other_profiles():
    edge, srv = profile("edge", memory_mb=10.0), profile("server", min_accuracy=0.99)
    rs = [result("a", "edge", memory=50.0), result("a", "server", accuracy=0.5)]
    evaluate(rs, {"edge": edge, "server": srv})
    assert "memory_mb excluded 1 of 1" in why_nothing_feasible(rs, "edge")
    assert "min_accuracy excluded 1 of 1" in why_nothing_feasible(rs, "server")


def test_front_keeps_candidates_whose_latency_intervals_overlap():
    """A point estimate a hair faster is not proof: overlapping bounds cannot push a candidate off."""
    edge = profile("edge", latency_ms=10.0)
    a = result("a", accuracy=0.9, p95=5.0, bounds=(4.0, 6.0))
    b = result("b", accuracy=0.9, p95=5.5, bounds=(4.5, 6.5))  # same accuracy and memory, interval overlaps
    out = evaluate([a, b], {"edge": edge})
    assert [r.on_front for r in out] == [True, True]
    assert not surely_dominates(a, b, edge) and not surely_dominates(b, a, edge)


def test_front_drops_a_candidate_surely_slower_and_no_better():
    edge = profile("edge", latency_ms=10.0)
    a = result("a", accuracy=0.9, p95=5.0, bounds=(4.0, 6.0))
    b = result("b", accuracy=0.9, p95=7.0, bounds=(6.5, 8.0))  # a's upper bound is below b's lower
    c = result("c", accuracy=0.9, p95=7.0, bounds=(6.5, 8.0), memory=90.0)  # slower but leaner: a trade-off
    out = evaluate([a, b, c], {"edge": edge})
    assert [r.on_front for r in out] == [True, False, True]
    assert surely_dominates(a, b, edge) and not surely_dominates(a, c, edge)


def test_surely_dominates_needs_something_strictly_better():
    edge = profile("edge", latency_ms=10.0)
    a = result("a", accuracy=0.9, p95=5.0, bounds=(5.0, 5.0))
    twin = result("b", accuracy=0.9, p95=5.0, bounds=(5.0, 5.0))
    assert not surely_dominates(a, twin, edge)
    better = result("c", accuracy=0.95, p95=5.0, bounds=(5.0, 5.0))
    assert surely_dominates(better, a, edge)


def test_latency_bounds_fall_back_to_the_estimate():
    edge = profile("edge", latency_ms=10.0)
    assert latency_bounds(result("a", p95=5.0), edge) == (5.0, 5.0)
    assert latency_bounds(result("a", p95=5.0, bounds=(4.0, 6.0)), edge) == (4.0, 6.0)
    assert latency_bounds(result("a", p95=None), edge) == (float("inf"), float("inf"))
