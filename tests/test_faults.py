"""Fault injection: candidates that crash, eat memory, hang, fail to export or are corrupt files.

One sweep holds every fault next to healthy candidates. Each fault must become a failed result with
its reason while every other candidate is still measured, and after every build and measurement no
process of ours is left running and no job directory is left in the temp dir.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from archbench.cache import Cache
from archbench.config import load_profile, load_sweep_config
from archbench.sweep import Sweep, plan
from tests.conftest import write
from tests.faultkit import TAG_VAR, job_dirs, new_tag, pid_alive, pids_in, wait_until_gone, write_fault_package

pytestmark = pytest.mark.slow

TIMEOUT_S = 30  # above a healthy tiny measurement (~2 s idle, 15 s seen on 2 loaded cores), below the hang

PROFILE = f"""
name: faults
device: cpu
threads: 1
budget: {{memory_mb: 500}}
measure: {{max_seconds: 0.2, min_samples: 20, max_samples: 200, warmup: 2, timeout_s: {TIMEOUT_S}}}
"""

CANDIDATES = """
train: {{epochs: 2}}
candidates:
  - {{name: healthy-mlp, kind: builtin, family: mlp, params: {{hidden: [8]}}, variants: [torch, onnx]}}
  - {{name: healthy-import, kind: import, target: "faultmodels.nets:good", variants: [torch, onnx]}}
  - {{name: aborts, kind: import, target: "faultmodels.nets:aborts", variants: [torch]}}
  - {{name: hog-build, kind: import, target: "faultmodels.nets:hog_factory", variants: [torch]}}
  - {{name: hog-measure, kind: import, target: "faultmodels.nets:hog_forward", trained: true, variants: [torch]}}
  - {{name: hangs, kind: import, target: "faultmodels.nets:hang", trained: true, variants: [torch],
     kwargs: {{pidfile: "{hang_daemons}"}}}}
  - {{name: no-export, kind: import, target: "faultmodels.nets:no_export", trained: true,
     variants: [torch, onnx, onnx-int8]}}
  - {{name: corrupt, kind: onnx, path: corrupt.onnx, variants: [onnx, onnx-int8]}}
  - {{name: spawns, kind: import, target: "faultmodels.nets:spawns", trained: true, variants: [torch],
     kwargs: {{pidfile: "{pidfile}"}}}}
  - {{name: daemonizes, kind: import, target: "faultmodels.nets:spawns", trained: true, variants: [torch],
     kwargs: {{pidfile: "{daemons}", detach: true}}}}
"""

HEALTHY = {("healthy-mlp", "torch"), ("healthy-mlp", "onnx"), ("healthy-import", "torch"),
           ("healthy-import", "onnx"), ("no-export", "torch"), ("spawns", "torch"),
           ("daemonizes", "torch")}  # fmt: skip


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    private_tmp = root / "tmp"  # the runner's job dirs land here, so leftovers are ours to count
    private_tmp.mkdir()
    pidfile = root / "grandchildren.txt"
    # Daemons (setsid + double fork) started by a healthy candidate, and by one that then hangs until timed out.
    daemons, hang_daemons = root / "daemons.txt", root / "hang-daemons.txt"
    write_fault_package(root / "pkg")
    cands = write(root / "candidates.yaml", CANDIDATES.format(pidfile=pidfile, daemons=daemons,
                                                              hang_daemons=hang_daemons))  # fmt: skip
    (root / "corrupt.onnx").write_bytes(os.urandom(4096))
    prof = write(root / "faults.yaml", PROFILE)
    tag, violations = new_tag(), []

    def after_each_step(phase: str, done: int, total: int, label: str) -> None:
        """Called before each build/measurement: the previous one must have left nothing behind."""
        stray = wait_until_gone(tag, timeout_s=3)
        grandchildren = [*pids_in(pidfile), *pids_in(daemons), *pids_in(hang_daemons)]
        stray += [f"grandchild {p}" for p in grandchildren if pid_alive(p)]
        stray += job_dirs(private_tmp)
        if stray:
            violations.append(f"{phase} {done}/{total} {label}: {stray}")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(root / "pkg"))  # children inherit os.environ
        mp.setenv(TAG_VAR, tag)
        mp.setenv("TMPDIR", str(private_tmp))
        mp.setattr(tempfile, "tempdir", str(private_tmp))
        config = load_sweep_config(cands)
        profiles = [load_profile(prof)]
        sweep = Sweep(config, profiles, root / "results", Cache(root / "cache"), run_id="faults",
                      progress=after_each_step)  # fmt: skip
        outcome = sweep.run()
        after_each_step("end", 0, 0, "")
    by = {(r.candidate, r.variant): r for r in outcome.results}
    return outcome, by, violations, len(plan(config, profiles)), root


def error(by, candidate: str, variant: str) -> str:
    r = by[(candidate, variant)]
    assert r.status == "failed", (candidate, variant, r.status)
    assert r.error and "\n" not in r.error
    return r.error


def test_every_healthy_candidate_is_still_measured(fault_run):
    _, by, _, _, _ = fault_run
    for key in HEALTHY:
        assert by[key].status == "ok", (key, by[key].error)
        assert by[key].latency["n"] >= 20 and by[key].accuracy is not None


def test_no_result_is_lost_and_the_files_are_complete(fault_run):
    outcome, by, _, planned, _ = fault_run
    assert outcome.complete and len(by) == planned == 15
    data = json.loads((outcome.run_dir / "result.json").read_text())
    assert data["run"]["complete"] is True and len(data["results"]) == planned
    failed = {(r["candidate"], r["variant"]) for r in data["results"] if r["status"] == "failed"}
    assert failed == set(by) - HEALTHY
    for r in data["results"]:  # the table for a human reading `pytest -s`
        print(f"{r['candidate']}/{r['variant']}: {r['status']}: {(r['error'] or '')[:150]}")


def test_factory_abort_is_a_sigabrt_failure(fault_run):
    assert "SIGABRT" in error(fault_run[1], "aborts", "torch")


def test_runaway_allocation_in_the_factory_is_out_of_memory(fault_run):
    reason = error(fault_run[1], "hog-build", "torch")
    assert reason.startswith("build failed: out of memory"), reason


def test_runaway_allocation_while_measuring_is_out_of_memory(fault_run):
    reason = error(fault_run[1], "hog-measure", "torch")
    assert reason.startswith("out of memory"), reason


def test_hang_times_out(fault_run):
    assert error(fault_run[1], "hangs", "torch") == f"timed out after {TIMEOUT_S} s"


def test_export_failure_fails_only_the_onnx_variants(fault_run):
    by = fault_run[1]
    assert by[("no-export", "torch")].status == "ok"
    for variant in ("onnx", "onnx-int8"):
        reason = error(by, "no-export", variant)
        assert reason.startswith("ONNX export failed") and "faultmodels::twice" in reason, reason
        assert "\x1b" not in reason  # the exporter's colour codes do not reach the report


def test_corrupt_onnx_file_fails_with_the_loader_reason(fault_run):
    by = fault_run[1]
    assert "onnxruntime cannot load corrupt.onnx" in error(by, "corrupt", "onnx")
    assert "quantize" in error(by, "corrupt", "onnx-int8")


def test_no_orphans_grandchildren_or_temp_dirs_after_any_step(fault_run):
    _, by, violations, _, root = fault_run
    assert violations == []
    # Spawned once while building and once per measuring attempt (a disturbed one is measured again).
    for name, pidfile in (("spawns", "grandchildren.txt"), ("daemonizes", "daemons.txt")):
        attempts = sum(by[(name, "torch")].meta["measure_attempts"])
        assert len(pids_in(root / pidfile)) == 1 + attempts, name


def test_a_daemon_grandchild_dies_with_the_timed_out_measurement(fault_run):
    # One daemon from the build, one from the measurement that hung; the timeout kill took the second.
    _, by, violations, _, root = fault_run
    assert by[("hangs", "torch")].error.startswith("timed out")
    daemons = pids_in(root / "hang-daemons.txt")
    assert len(daemons) == 2 and not any(pid_alive(p) for p in daemons) and violations == []
