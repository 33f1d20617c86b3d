"""repeats: N — a latency verdict every process agrees on. Pooling the processes' samples treats them as one
sample; two processes running 7% apart can each be sure of different answers. No torch."""

from __future__ import annotations

import numpy as np
import pytest

from archbench.assemble import latency_decision, process_hull
from archbench.config import Budget, HardwareProfile, MeasureSettings
from archbench.jobs import MeasurePayload
from archbench.verdicts import ceiling_status

N = 1000


def payload(mean_ms: float, seed: int) -> MeasurePayload:
    samples = np.random.default_rng(seed).normal(mean_ms, 0.05 * mean_ms, N).clip(min=1e-6)
    return MeasurePayload(samples_ms=samples.tolist(), stop_reason="fixed sample count", loop_wall_s=0.01,
                          memory={"peak_rss_mb": 50.0}, predictions=[0], model_bytes=1, distinct_requests=5000,
                          fixed_samples=N)  # fmt: skip


def profile(budget_ms: float) -> HardwareProfile:
    return HardwareProfile(name="p", device="cpu", threads=1, budget=Budget(latency_ms=budget_ms, percentile="p95"),
                           measure=MeasureSettings(fixed_samples=N))  # fmt: skip


FAST, SLOW = payload(0.0100, 1), payload(0.0107, 2)  # p95 ~0.0108 and ~0.0116 ms


@pytest.mark.parametrize(
    ("budget_ms", "pooled", "agreed"),
    [
        (0.0116, "pass", "undecided"),  # the slow process cannot show it fits: pooling hid it
        (0.0112, "fail", "undecided"),  # the fast process fits: pooling hid that too
        (0.0120, "pass", "pass"),  # both fit
        (0.0100, "fail", "fail"),  # neither does
    ],
)
def test_a_verdict_needs_every_process_to_agree(budget_ms, pooled, agreed):
    prof = profile(budget_ms)
    d = latency_decision(FAST.samples_ms + SLOW.samples_ms, prof, None, 10_000, 2 * N)
    lower, upper, each = process_hull(d.lower_ms, d.upper_ms, [FAST, SLOW], prof)
    assert ceiling_status(d.lower_ms, d.upper_ms, budget_ms) == pooled
    assert ceiling_status(lower, upper, budget_ms) == agreed
    assert len(each) == 2 and each[0][1] < each[1][0]  # the two processes' own bounds do not even overlap
    assert lower <= min(b[0] for b in each) and upper >= max(b[1] for b in each)


def test_one_process_is_unchanged():
    prof = profile(0.0116)
    d = latency_decision(FAST.samples_ms, prof, None, 5000, N)
    assert process_hull(d.lower_ms, d.upper_ms, [FAST], prof) == (d.lower_ms, d.upper_ms, [])
