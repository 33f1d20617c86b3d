"""gate and compare over result.json files: pure, no torch; the CLI exit codes."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from archbench.cli import app
from archbench.config import HardwareProfile
from archbench.gate import gate, parse_choice, verdict
from archbench.pareto import evaluate
from archbench.report import read_result_json, write_result_json
from archbench.result import LatencyDecision, Result

PROFILE = HardwareProfile.model_validate(
    {"name": "edge", "device": "cpu", "threads": 1,
     "budget": {"latency_ms": 1.0, "percentile": "p95", "memory_mb": 500, "min_accuracy": 0.9}}
)  # fmt: skip


def result(cand: str, acc: float, center_ms: float, mem: float, seed: int = 0, machine_n: int = 2000) -> Result:
    samples = np.random.default_rng(seed).normal(center_ms, center_ms * 0.02, machine_n).clip(min=1e-6)
    lat = {p: float(np.quantile(samples, q)) for p, q in {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}.items()}
    from archbench.measure.stats import quantile_bounds

    lo, hi = quantile_bounds(np.sort(samples), 0.95, 0.001)
    return Result(cand, "onnx", "edge", accuracy=acc, latency=lat, latency_samples_ms=samples.tolist(),
                  latency_decision=LatencyDecision("p95", lat["p95"], lo, hi, 0.99, 0.001, "verdict decided"),
                  memory={"peak_rss_mb": mem}, model_mb=1.0)  # fmt: skip


def write_run(tmp_path, name: str, results: list[Result], machine: str = "m1"):
    run_dir = tmp_path / name
    evaluate(results, {"edge": PROFILE})
    write_result_json(run_dir, results, {"edge": PROFILE}, {"cpu_model": "x"}, {"run_id": name, "machine": machine},
                      True)  # fmt: skip
    return run_dir


@pytest.fixture
def runs(tmp_path):
    base = write_run(
        tmp_path,
        "base",
        [
            result("fast", 0.95, 0.2, 100),
            result("slow", 0.97, 0.5, 100),
            result("dominated", 0.94, 0.6, 200),
            result("big", 0.99, 0.3, 900),
        ],
    )
    same = write_run(
        tmp_path,
        "same",
        [
            result("fast", 0.95, 0.2, 100, seed=1),
            result("slow", 0.97, 0.5, 100, 1),
            result("dominated", 0.94, 0.6, 200, 1),
            result("big", 0.99, 0.3, 900, 1),
        ],
    )
    worse = write_run(
        tmp_path,
        "worse",
        [
            result("fast", 0.95, 0.3, 100, seed=2),
            result("slow", 0.97, 0.5, 100, 2),
            result("dominated", 0.94, 0.6, 200, 2),
            result("big", 0.99, 0.3, 900, 2),
        ],
    )
    return base, same, worse


def checks_for(run_dir, choice, baseline=None):
    meta, results = read_result_json(run_dir / "result.json")
    base = read_result_json(baseline / "result.json") if baseline else None
    return gate(results, meta, choice, None, run_dir, base)


def test_feasible_front_member_passes(runs):
    base, _, _ = runs
    checks = checks_for(base, "fast/onnx")
    assert verdict(checks, strict=True)


def test_dominated_choice_fails_naming_the_front(runs):
    base, _, _ = runs
    checks = checks_for(base, "dominated/onnx")
    fail = [c for c in checks if c.status == "fail"]
    assert fail and "dominated" in fail[0].detail and "fast/onnx" in fail[0].detail
    assert not verdict(checks, strict=False)


def test_infeasible_choice_fails_naming_the_budget(runs):
    base, _, _ = runs
    checks = checks_for(base, "big/onnx")
    assert any(c.status == "fail" and "memory_mb" in c.detail for c in checks)


def test_unchanged_model_is_not_a_regression(runs):
    base, same, _ = runs
    checks = checks_for(same, "fast/onnx", baseline=base)
    lat = next(c for c in checks if c.name.endswith("latency"))
    assert lat.status in {"pass", "inconclusive"}
    assert verdict(checks, strict=False)


def test_a_50_percent_slower_model_is_a_regression(runs):
    base, _, worse = runs
    checks = checks_for(worse, "fast/onnx", baseline=base)
    lat = next(c for c in checks if c.name.endswith("latency"))
    assert lat.status == "fail" and "regressed" in lat.detail
    assert not verdict(checks, strict=False)


def test_a_disturbed_run_cannot_prove_what_its_slow_core_would_fake(tmp_path):
    """A slowed core reads slow: a disturbed new run cannot prove a regression, nor a disturbed baseline its absence."""
    slow_new = result("fast", 0.95, 0.3, 100, seed=2)
    slow_new.disturbed, slow_new.host_slowdown = True, 1.6
    base = write_run(tmp_path, "base", [result("fast", 0.95, 0.2, 100)])
    new = write_run(tmp_path, "new", [slow_new])
    lat = next(c for c in checks_for(new, "fast/onnx", baseline=base) if c.name.endswith("latency"))
    assert lat.status == "inconclusive" and "disturbed" in lat.detail

    slow_base = result("fast", 0.95, 0.3, 100)
    slow_base.disturbed = True
    base2 = write_run(tmp_path, "base2", [slow_base])
    new2 = write_run(tmp_path, "new2", [result("fast", 0.95, 0.2, 100, seed=1)])
    lat = next(c for c in checks_for(new2, "fast/onnx", baseline=base2) if c.name.endswith("latency"))
    assert lat.status == "inconclusive" and "baseline was disturbed" in lat.detail

    # The other direction still decides: a disturbed new run that is even so no slower passes.
    quick_new = result("fast", 0.95, 0.2, 100, seed=3)
    quick_new.disturbed = True
    new3 = write_run(tmp_path, "new3", [quick_new])
    base3 = write_run(tmp_path, "base3", [result("fast", 0.95, 0.3, 100)])
    lat = next(c for c in checks_for(new3, "fast/onnx", baseline=base3) if c.name.endswith("latency"))
    assert lat.status == "pass" and lat.detail.startswith("no regression")


def test_parse_choice_errors():
    assert parse_choice("a/onnx") == ("a", "onnx")
    from archbench.errors import ConfigError

    with pytest.raises(ConfigError):
        parse_choice("no-variant")


def test_cli_exit_codes(runs, tmp_path):
    base, _, worse = runs
    runner = CliRunner()
    assert runner.invoke(app, ["gate", str(base), "--choose", "fast/onnx"]).exit_code == 0
    assert runner.invoke(app, ["gate", str(base), "--choose", "dominated/onnx"]).exit_code == 1
    assert runner.invoke(app, ["gate", str(worse), "--choose", "fast/onnx", "--baseline", str(base)]).exit_code == 1
    missing = runner.invoke(app, ["gate", str(base), "--choose", "nope/onnx"])
    assert missing.exit_code == 2 and "nope/onnx" in missing.output
    cmp = runner.invoke(app, ["compare", str(base), str(worse), "-o", str(tmp_path / "c.png")])
    assert cmp.exit_code == 0, cmp.output
    assert "fast/onnx" in cmp.output and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_compare_without_a_terminal_prints_one_plain_row_per_candidate(runs, tmp_path):
    """A log gets no box drawing and no wrapped cells: each candidate on one line, with every run's cell;
    an undecided result is marked '?', not shown as infeasible."""
    from archbench.compare import cell_text

    base, same, _ = runs
    out = CliRunner().invoke(app, ["compare", str(base), str(same)])  # CliRunner's stdout is not a terminal
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert not any(ch in out.output for ch in "│┃━─"), out.output
    rows = [ln for ln in lines if ln.startswith("  ") and "/onnx: " in ln]
    assert len(rows) == 4 and all("base: " in ln and "same: " in ln for ln in rows), out.output
    fast = next(ln for ln in rows if ln.startswith("  fast/onnx: "))
    assert fast.count("★") == 2 and " ms | " in fast
    undecided = result("u", 0.95, 0.2, 100)
    undecided.feasibility, undecided.on_front = "undecided", False
    assert cell_text(undecided, "p95").startswith("? ")


# ---- the ratio test, accuracy in points, archbench.yaml, markdown -----------------------------------


def test_ratio_test_false_alarms_stay_below_the_stated_rate_and_a_big_regression_is_found():
    from archbench.gate import ratio_test

    rng = np.random.default_rng(20)
    same = [ratio_test(rng.lognormal(0, 0.3, 2000), rng.lognormal(0, 0.3, 2000), 0.95, 0.99, 0.05)
            for _ in range(200)]  # fmt: skip
    assert sum(t.status == "fail" for t in same) <= 2
    assert all(t.lower <= t.estimate <= t.upper for t in same)
    slower = ratio_test(rng.lognormal(np.log(1.3), 0.3, 2000), rng.lognormal(0, 0.3, 2000), 0.95, 0.99, 0.05)
    assert slower.status == "fail" and slower.lower > 1.05
    # the stated detectable regression shrinks with more samples, and the count needed is stated
    few = ratio_test(rng.lognormal(0, 0.3, 500), rng.lognormal(0, 0.3, 500), 0.95, 0.99, 0.05)
    many = ratio_test(rng.lognormal(0, 0.3, 8000), rng.lognormal(0, 0.3, 8000), 0.95, 0.99, 0.05)
    assert many.detectable < few.detectable and few.samples_needed > 500
    assert ratio_test(np.ones(10), np.ones(10), 0.95, 0.99, 0.05).detectable == float("inf")


def test_accuracy_tolerance_is_absolute_and_paired_when_labels_match():
    from archbench.gate import accuracy_drop_test

    rng = np.random.default_rng(21)
    y = rng.integers(0, 2, 2000).tolist()
    base = Result("m", "onnx", "edge", accuracy=0.95)
    base.predictions = [t if rng.random() < 0.95 else 1 - t for t in y]
    new = Result("m", "onnx", "edge")
    new.predictions = [p if rng.random() < 0.94 else 1 - p for p in base.predictions]  # drop ~5 points
    base.accuracy = float(np.mean(np.array(base.predictions) == y))
    new.accuracy = float(np.mean(np.array(new.predictions) == y))
    assert accuracy_drop_test(new, base, 0.99, 0.01, y)[0] == "fail"  # 0.95 -> ~0.90 is far more than 1 point
    status, detail = accuracy_drop_test(base, base, 0.99, 0.01, y)
    assert status == "pass" and "paired" in detail
    # without labels: unpaired intervals on the same test-set size, wider
    assert accuracy_drop_test(new, base, 0.99, 0.01, None)[0] in {"fail", "inconclusive"}


def test_selection_file_drives_the_gate_and_bad_files_are_one_line_errors(runs, tmp_path, monkeypatch):
    base, same, worse = runs
    monkeypatch.chdir(tmp_path)
    (tmp_path / "archbench.yaml").write_text(f"choose:\n  edge: fast/onnx\nbaseline: {base}\n")
    runner = CliRunner()
    assert runner.invoke(app, ["gate", str(same)]).exit_code == 0
    bad = runner.invoke(app, ["gate", str(worse)])
    assert bad.exit_code == 1 and "regressed" in bad.output
    md = runner.invoke(app, ["gate", str(worse), "--format", "markdown"])
    assert md.output.startswith("### archbench gate: failed") and "| ❌ | edge: latency |" in md.output
    for text, key in (("choose: nope\n", "choose"), ("choose: a/b\ntolerance: -1\n", "tolerance"),
                      ("choose: a/b\ncolour: red\n", "colour"), ("[1, 2\n", "<file>")):  # fmt: skip
        (tmp_path / "archbench.yaml").write_text(text)
        out = runner.invoke(app, ["gate", str(same)])
        assert out.exit_code == 2 and key in out.output and len(out.output.strip().splitlines()) == 1
    (tmp_path / "archbench.yaml").unlink()
    out = runner.invoke(app, ["gate", str(same)])
    assert out.exit_code == 2 and "archbench.yaml" in out.output
