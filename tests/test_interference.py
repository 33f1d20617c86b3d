"""Host interference: the reference probe, its statistics, and the sweep re-measuring disturbed results."""

from __future__ import annotations

import os
from typing import Any

import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.measure import interference
from archbench.measure.runner import ChildOutcome
from archbench.sweep import Sweep
from tests.conftest import TINY_PROFILE, write

# ---- pure statistics -------------------------------------------------------------------------------


def test_reference_kernel_times_something_real():
    readings = [interference.reference_us() for _ in range(3)]
    assert all(0.5 < r < 1e5 for r in readings)  # microseconds: hashing 64 KiB, not zero, not seconds


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs sched_getaffinity")
def test_probing_every_allowed_core_leaves_the_affinity_as_it_was():
    before = os.sched_getaffinity(0)
    assert interference.reference_us() > 0
    assert os.sched_getaffinity(0) == before
    one = {min(before)}
    try:
        os.sched_setaffinity(0, one)
        assert interference.reference_us() > 0
        assert os.sched_getaffinity(0) == one
    finally:
        os.sched_setaffinity(0, before)


def test_typical_is_the_median_and_shrugs_off_one_outlier():
    assert interference.typical([]) is None and interference.typical(None) is None
    assert interference.typical([3.0, 1.0, 2.0]) == 2.0
    assert interference.typical([1.0, 2.0, 3.0, 4.0]) == 2.5
    assert interference.typical([50.0, 51.0, 52.0, 500.0, 49.0]) == 51.0


def test_slowdown_is_relative_to_the_quietest_measurement():
    assert interference.slowdown([100.0, 100.0, 300.0], 100.0) == 1.0
    assert interference.slowdown([200.0, 190.0, 210.0], 100.0) == 2.0
    assert interference.slowdown([], 100.0) is None
    assert interference.slowdown([100.0], None) is None
    assert interference.slowdown([100.0], 0.0) is None


def test_floors_are_kept_per_core_set():
    payloads = [
        ((0,), [60.0, 61.0, 200.0]),
        ((0,), [110.0, 120.0, 115.0]),
        ((), [90.0]),
        ((1,), []),  # a measurement without readings says nothing
    ]
    assert interference.floors(payloads) == {(0,): 61.0, (): 90.0}
    assert interference.floor_key([3, 1]) == (1, 3) and interference.floor_key(None) == ()


# ---- the sweep re-measures what ran on a slow core -------------------------------------------------

CANDIDATES = """
task: {kind: digits}
candidates:
  - {name: m, kind: builtin, family: mlp, params: {hidden: [8]}, variants: [torch, onnx, onnx-int8]}
"""

# Per variant, the reference readings of successive attempts (one attempt per measuring child).
READINGS = {
    "onnx": [[100.0, 101.0, 99.0]],  # quiet: measured once
    "torch": [[300.0, 290.0, 310.0], [105.0, 104.0, 106.0]],  # slow, then quiet on the first retry
    "onnx-int8": [[200.0] * 3, [190.0] * 3, [180.0] * 3, [100.0] * 3],  # slow through both retries
}


WAITS: dict[str, list[float]] = {}  # per variant, the run-queue share of successive attempts (default 0)


class FakeChildren:
    """Stands in for run_child at the typed boundary: builds succeed, measurements report the scripted
    reference readings (and run-queue waits); both answers are validated as the real children's are."""

    def __init__(self) -> None:
        self.measured: list[str] = []

    def __call__(self, kind: str, job: dict[str, Any], timeout_s: float, threads: int | None = None) -> ChildOutcome:
        from archbench.jobs import BuildOutput, MeasureJob, MeasurePayload
        from archbench.tasks.base import TaskData

        if kind == "build":
            artifacts = {"weights": "w", "onnx": "a.onnx", "onnx-int8": "b.onnx"}
            return ChildOutcome(BuildOutput(artifacts=artifacts, params=10).model_dump(mode="json"), None, 50.0, 0.1)
        job = MeasureJob.model_validate(job)
        variant = job.variant
        attempt = self.measured.count(variant)
        self.measured.append(variant)
        readings = READINGS[variant][attempt]
        wait = (WAITS.get(variant) or [0.0] * 9)[attempt]
        speed = readings[0] / 100.0  # a slow core makes the model slow by the same factor
        y_test = TaskData.load(job.task_path).y_test
        payload = MeasurePayload(
            samples_ms=[0.01 * speed * (1 + i / 1000) for i in range(200)], stop_reason="verdict decided",
            loop_wall_s=0.01, memory={"peak_rss_mb": 50.0}, predictions=y_test.tolist(), model_bytes=1000,
            reference_us=readings, run_queue={"wait_ms": 100 * wait, "loop_ms": 100, "involuntary_switches": 3},
            distinct_requests=540,
        )  # fmt: skip
        return ChildOutcome(payload.model_dump(mode="json"), None, 60.0, 1.0)


@pytest.fixture
def scripted_sweep(tmp_path, monkeypatch):
    fake = FakeChildren()
    monkeypatch.setattr("archbench.measure.runner.run_child", fake)
    cands = write(tmp_path / "candidates.yaml", CANDIDATES)
    prof = write(tmp_path / "tiny.yaml", TINY_PROFILE.format(name="tiny", device="cpu", batch=1))

    def run(run_id: str):
        sweep = Sweep(load_sweep_config(cands), [load_profile(prof)], tmp_path / "results", Cache(tmp_path / "c"),
                      run_id=run_id)  # fmt: skip
        return {r.variant: r for r in sweep.run().results}

    return fake, run


def test_disturbed_measurements_are_taken_again_and_the_quietest_kept(scripted_sweep):
    fake, run = scripted_sweep
    by = run("r1")
    assert fake.measured.count("onnx") == 1
    assert fake.measured.count("torch") == 2  # one retry found a quiet core
    assert fake.measured.count("onnx-int8") == 3  # default interference_retries: 2

    quiet, recovered, stuck = by["onnx"], by["torch"], by["onnx-int8"]
    assert not quiet.disturbed and quiet.host_slowdown == pytest.approx(1.0)
    assert not recovered.disturbed and recovered.meta["measure_attempts"] == [2]
    assert recovered.latency["p50"] < 0.0120  # the quiet attempt's samples (the slow one's p50 is ~0.033)
    assert recovered.timings["measure_s"] == pytest.approx(2.0)  # the discarded attempt's time is counted
    assert stuck.disturbed and stuck.meta["measure_attempts"] == [3]
    assert stuck.host_slowdown == pytest.approx(1.8)  # the quietest of its three attempts
    assert stuck.timings["measure_s"] == pytest.approx(3.0)


def test_disturbed_results_are_reported(scripted_sweep, tmp_path):
    _, run = scripted_sweep
    run("r1")
    summary = (tmp_path / "results" / "r1" / "summary.md").read_text()
    assert "Disturbed" in summary and "m/onnx-int8" in summary and "3 attempts" in summary
    header, *_ = (tmp_path / "results" / "r1" / "results.csv").read_text().splitlines()
    assert "host_slowdown" in header and "disturbed" in header


def test_an_unchanged_sweep_does_not_retry_cached_measurements(scripted_sweep):
    fake, run = scripted_sweep
    run("r1")
    before = len(fake.measured)
    by = run("r2")
    assert len(fake.measured) == before  # all from the cache, the disturbed one included
    assert by["onnx-int8"].disturbed and by["torch"].meta["cached"]


def test_retries_can_be_switched_off(scripted_sweep, tmp_path):
    fake, _ = scripted_sweep
    prof = write(tmp_path / "noretry.yaml", TINY_PROFILE.format(name="noretry", device="cpu", batch=1).replace(
        "timeout_s: 120", "timeout_s: 120, interference_retries: 0"))  # fmt: skip
    sweep = Sweep(load_sweep_config(tmp_path / "candidates.yaml"), [load_profile(prof)], tmp_path / "results",
                  Cache(tmp_path / "c2"), run_id="r3")  # fmt: skip
    by = {r.variant: r for r in sweep.run().results}
    assert len(fake.measured) == 3
    assert by["torch"].disturbed and by["onnx-int8"].disturbed and not by["onnx"].disturbed


def test_a_small_sweep_on_a_slow_core_is_judged_against_earlier_quiet_sweeps(scripted_sweep, tmp_path, monkeypatch):
    """Its own floor would be slow too; the machine's recent quietest reading is kept in the cache."""
    fake, run = scripted_sweep
    run("r1")  # the floor on this machine is now 100 µs
    monkeypatch.setitem(READINGS, "onnx", [[170.0] * 3] * 3)  # every attempt of a new measurement runs slow
    cache = Cache(tmp_path / "c")
    sweep = Sweep(load_sweep_config(write(tmp_path / "one.yaml", CANDIDATES.replace("torch, onnx, onnx-int8", "onnx"))),
                  [load_profile(tmp_path / "tiny.yaml")], tmp_path / "results", cache, run_id="r2")  # fmt: skip
    fake.measured.clear()
    (tmp_path / "c" / "measure").rename(tmp_path / "old-measure")  # measure again, keep the floors
    result = sweep.run().results[0]
    assert fake.measured == ["onnx"] * 3
    assert result.disturbed and result.host_slowdown == pytest.approx(1.7)


def test_reference_floors_round_trip_and_expire(tmp_path, monkeypatch):
    cache = Cache(tmp_path)
    cache.put_reference_floors("m1", {(0,): 60.0, (): 80.0})
    cache.put_reference_floors("m1", {(0,): 70.0})  # slower than the stored one: kept at 60
    assert cache.get_reference_floors("m1") == {(0,): 60.0, (): 80.0}
    assert cache.get_reference_floors("other") == {}
    assert Cache(tmp_path, enabled=False).get_reference_floors("m1") == {}  # --fresh trusts nothing stored
    import time

    later = time.time() + Cache.FLOOR_MAX_AGE_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    assert cache.get_reference_floors("m1") == {}


def test_the_terminal_names_disturbed_results(scripted_sweep, tmp_path, capsys):
    from archbench.console import print_outcome

    run_sweep = Sweep(load_sweep_config(tmp_path / "candidates.yaml"), [load_profile(tmp_path / "tiny.yaml")],
                      tmp_path / "results", Cache(tmp_path / "c"), run_id="r1")  # fmt: skip
    print_outcome(run_sweep.run())
    out = capsys.readouterr().out
    assert "disturbed m/onnx-int8" in " ".join(out.split()) and "1.80x" in out
    assert "disturbed m/onnx " not in out


def test_a_measurement_whose_timed_threads_waited_for_their_core_is_taken_again(scripted_sweep, monkeypatch):
    """Time-slicing (another process on the core) slows nothing the probe can see: the kernel's run-queue
    delay says the timed threads waited. Such a measurement is disturbed and measured again."""
    fake, run = scripted_sweep
    monkeypatch.setitem(READINGS, "onnx", [[100.0, 101.0, 99.0]] * 3)  # the core's speed: quiet every time
    monkeypatch.setitem(WAITS, "onnx", [0.30, 0.0])  # waited 30% of the loop, then not at all
    by = run("rq")
    assert fake.measured.count("onnx") == 2
    assert not by["onnx"].disturbed and by["onnx"].meta["measure_attempts"] == [2]
    assert by["onnx"].meta["run_queue_share"] == [0.0]
