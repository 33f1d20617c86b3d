"""The timing loop: sample counts, adaptive stopping at looks, the time cap. No torch."""

from __future__ import annotations

import time

import numpy as np

from archbench.measure.loop import REWARM_CALLS, drifting, time_calls, warm_up
from archbench.measure.stats import StoppingRule


def spin(us: float):
    def fn(_x: object) -> None:
        end = time.perf_counter_ns() + int(us * 1000)
        while time.perf_counter_ns() < end:
            pass

    return fn


def rule(budget_ms: float | None, max_samples: int = 5000) -> StoppingRule:
    return StoppingRule(q=0.95, confidence=0.99, budget_ms=budget_ms, min_samples=20, max_samples=max_samples,
                        target_rel_width=0.05)  # fmt: skip


def test_fixed_samples_takes_exactly_that_many():
    out = time_calls(spin(1), [0, 1, 2], rule(None), fixed_samples=57, max_seconds=10)
    assert len(out.samples_ms) == 57 and out.stop_reason == "fixed sample count"
    assert np.all(out.samples_ms > 0)


def test_clearly_under_budget_stops_at_the_first_look():
    r = rule(budget_ms=1000.0)
    out = time_calls(spin(5), [0], r, fixed_samples=None, max_seconds=10)
    assert out.stop_reason == "verdict decided" and out.decision.verdict == "pass"
    assert len(out.samples_ms) == r.first_pass_look


def test_clearly_over_budget_stops_at_the_first_look():
    r = rule(budget_ms=0.0001)
    out = time_calls(spin(20), [0], r, fixed_samples=None, max_seconds=10)
    assert out.decision.verdict == "fail" and len(out.samples_ms) == r.looks[0] == 20


def test_on_look_runs_once_per_look_outside_the_timed_region():
    r = rule(budget_ms=1000.0)
    seen: list[int] = []
    calls = {"n": 0}

    def fn(_x: object) -> None:
        calls["n"] += 1
        spin(20)(None)  # steady calls: no drifting start to discard

    def probe() -> None:
        seen.append(calls["n"])
        time.sleep(0.05)  # a slow probe must not show up in any sample

    out = time_calls(fn, [0], r, fixed_samples=None, max_seconds=10, on_look=probe)
    reached = [look for look in r.looks if look <= len(out.samples_ms)]
    # after each look a few untimed calls re-warm the caches before timing resumes
    assert seen == [look + REWARM_CALLS * k for k, look in enumerate(reached)]
    assert not (out.samples_ms >= 50.0).any()


def test_time_cap_reports_undecided_not_a_verdict():
    r = rule(budget_ms=None, max_samples=10_000_000)  # no budget: stops only on width or the cap
    out = time_calls(spin(50), [0], r, fixed_samples=None, max_seconds=0.05)
    assert out.stop_reason in {"time cap reached", "bound within target width"}
    assert out.wall_s < 2.0


def test_samples_are_the_call_not_the_loop():
    out = time_calls(spin(200), [0], None, fixed_samples=50, max_seconds=10)
    assert 0.19 <= float(np.median(out.samples_ms)) <= 0.5


def test_warm_up():
    calls = []
    done, per_call_s = warm_up(calls.append, [1, 2], calls=7, min_seconds=0.0)
    assert done == len(calls) >= 7 and calls[:3] == [1, 2, 1] and 0 <= per_call_s < 0.01


def settling(slow_calls: int, slow_us: float, fast_us: float):
    """A model whose first calls are slow (lazy init, cold caches), then steady."""
    state = {"n": 0}

    def fn(_x: object) -> None:
        state["n"] += 1
        spin(slow_us if state["n"] <= slow_calls else fast_us)(None)

    return fn, state


def test_warm_up_runs_until_the_process_is_steady():
    """Calls that speed up gradually (20 µs + 380 µs × 0.97^n): consecutive blocks of calls keep
    disagreeing until about call 180, so warm-up goes on past any fixed count."""
    state = {"n": 0}

    def fn(_x: object) -> None:
        state["n"] += 1
        spin(20 + 380 * 0.97 ** state["n"])(None)

    done, per_call_s = warm_up(fn, [0], calls=10, min_seconds=0.0)
    assert done >= 120  # not stopped by the call count while still settling
    assert per_call_s < 60e-6  # the per-call time it reports is the settled one


def test_a_transient_at_the_start_is_discarded_not_judged():
    """Issue 10 §1b: 20 samples of a warm-up transient decided 'infeasible'. Now the drifting start is
    dropped and the steady model passes its budget."""
    fn, _ = settling(slow_calls=12, slow_us=2000, fast_us=20)
    r = rule(budget_ms=0.5)
    out = time_calls(fn, [0], r, fixed_samples=None, max_seconds=10)
    assert out.discarded_samples > 0
    assert out.decision.verdict == "pass", out.stop_reason


def test_drift_means_a_slower_first_half():
    steady = np.full(100, 1000, dtype=np.int64)
    assert not drifting(steady)
    assert drifting(np.concatenate([np.full(50, 2000), np.full(50, 1000)]))
    assert not drifting(np.concatenate([np.full(50, 1000), np.full(50, 2000)]))  # slower later: the host's


def test_no_early_verdict_before_the_minimum_measuring_time():
    r = rule(budget_ms=1000.0)
    out = time_calls(spin(5), [0], r, fixed_samples=None, max_seconds=10, min_seconds=0.2)
    assert out.decision.verdict == "pass"
    assert out.wall_s >= 0.2 or len(out.samples_ms) == r.looks[-1]
