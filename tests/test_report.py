"""Report files: strict JSON with infinities, schema checks, csv/markdown/png content, lazy imports."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import archbench
from archbench.config import Budget, HardwareProfile
from archbench.env import collect_environment, machine_fingerprint, sample_machine_state
from archbench.errors import ConfigError
from archbench.pareto import evaluate
from archbench.report import (
    CSV_COLUMNS,
    atomic_write_json,
    read_result_json,
    render_front_table,
    write_all,
    write_csv,
    write_pareto_png,
    write_result_json,
    write_summary_md,
)
from archbench.report.common import throughput_cell
from archbench.result import LatencyDecision, Result

REPO = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _result(cand: str, variant: str, profile: str, acc: float, p95: float, mem: float, **kw) -> Result:
    samples = [p95 * f for f in (0.8, 0.85, 0.9, 0.95, 1.0)]
    return Result(
        cand,
        variant,
        profile,
        accuracy=acc,
        latency={"p50": p95 * 0.9, "p90": p95 * 0.97, "p95": p95, "p99": p95 * 1.05, "mean": p95 * 0.9, "iqr": 0.1},
        latency_samples_ms=samples,
        latency_decision=LatencyDecision("p95", p95, p95 * 0.95, p95 * 1.05, 0.99, 0.001, "verdict decided"),
        memory={"peak_rss_mb": mem, "inference_added_mb": mem / 4, "process_peak_mb": mem * 2},
        model_mb=mem / 10,
        params=1000,
        throughput=1000 / p95,
        **kw,
    )


@pytest.fixture
def profiles() -> dict[str, HardwareProfile]:
    edge = HardwareProfile(
        name="edge", device="cpu", threads=1, budget=Budget(latency_ms=10, memory_mb=100, min_accuracy=0.8)
    )
    server = HardwareProfile(name="server", device="cpu", threads=2, budget=Budget(latency_ms=0.5))
    return {"edge": edge, "server": server}


@pytest.fixture
def results(profiles: dict[str, HardwareProfile]) -> list[Result]:
    rs = [
        _result("mlp", "torch", "edge", 0.90, 2.0, 50, slice_accuracy={"long": {"accuracy": 0.7, "n": 10}}),
        _result("mlp", "onnx", "edge", 0.90, 1.0, 40),
        _result("cnn", "onnx", "edge", 0.97, 20.0, 60),  # breaks the latency budget, 100% over
        _result("tiny", "onnx-int8", "edge", 0.5, 0.5, 10),  # breaks min_accuracy
        Result.failed("big", "torch", "edge", "Traceback (most recent call last):\n  ...\nMemoryError: out of memory"),
        _result("mlp", "onnx", "server", 0.90, 1.0, 40),  # too few samples to decide on server
    ]
    # A decision with too few samples has infinite bounds: must survive JSON.
    rs[-1].latency_decision = LatencyDecision("p95", 1.0, -math.inf, math.inf, 0.99, 0.001, "max samples reached")
    rs[-1].latency["iqr_over_median"] = math.inf
    return evaluate(rs, profiles)


def _strict_loads(text: str):
    def refuse(name: str):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_atomic_json_turns_infinities_into_null(tmp_path: Path) -> None:
    path = atomic_write_json(tmp_path / "x.json", {"a": math.inf, "b": [-math.inf, math.nan, 1.5], "c": (1, 2)})
    data = _strict_loads(path.read_text())
    assert data == {"a": None, "b": [None, None, 1.5], "c": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_result_json_round_trips(tmp_path: Path, results, profiles) -> None:
    env = {"cpu_model": "test cpu", "logical_cores": 2, "total_memory_mb": 2048.0}
    path = write_result_json(tmp_path, results, profiles, env, {"run_id": "r1"}, complete=False)
    doc = _strict_loads(path.read_text())
    assert doc["schema_version"] == archbench.SCHEMA_VERSION
    assert doc["run"] == {"run_id": "r1", "complete": False}
    assert doc["fronts"]["edge"] == ["mlp/onnx"]
    assert doc["fronts"]["server"] == []
    assert "1 undecided" in doc["notes"]["server"]
    assert "edge" not in doc["notes"]
    assert doc["profiles"]["edge"]["budget"]["latency_ms"] == 10

    meta, back = read_result_json(path)
    assert "results" not in meta and meta["environment"] == env
    assert [r.key for r in back] == [r.key for r in results]
    assert back[0].latency_samples_ms == results[0].latency_samples_ms
    assert back[0].slice_accuracy == results[0].slice_accuracy
    # Infinities written as null come back as infinities where they mean "unbounded".
    assert back[-1].latency_decision.lower_ms == -math.inf
    assert back[-1].latency_decision.upper_ms == math.inf
    failed_mem = [v for v in back[3].verdicts if v.budget == "min_accuracy"]
    assert failed_mem and failed_mem[0].relative_excess == pytest.approx(results[3].verdicts[-1].relative_excess)


@pytest.mark.parametrize("version", ["2.0", "0.9", None, 1])
def test_read_rejects_wrong_schema_version(tmp_path: Path, version) -> None:
    path = tmp_path / "result.json"
    doc = {"results": []} if version is None else {"schema_version": version, "results": []}
    path.write_text(json.dumps(doc))
    with pytest.raises(ConfigError) as exc:
        read_result_json(path)
    assert exc.value.key == "schema_version"


@pytest.mark.parametrize("content", ['{"schema_version": "1.0", "results": [', "", "[1, 2]", "\xff\xfe"])
def test_read_rejects_corrupt_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ConfigError):
        read_result_json(path)


def test_read_rejects_missing_file_and_bad_result(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        read_result_json(tmp_path / "nope.json")
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"schema_version": "1.3", "results": [{"candidate": "x"}]}))
    with pytest.raises(ConfigError) as exc:
        read_result_json(path)
    assert exc.value.key == "results.0"


def test_csv_has_one_row_per_result(tmp_path: Path, results, profiles) -> None:
    path = write_csv(tmp_path, results, profiles)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
    assert len(rows) == len(results)
    by_key = {(r["candidate"], r["variant"], r["profile"]): r for r in rows}
    slow = by_key[("cnn", "onnx", "edge")]
    assert slow["feasibility"] == "infeasible"
    assert slow["broken_budgets"] == "latency_p95_ms: 20 vs 10"
    assert slow["budget_percentile"] == "p95"
    assert float(slow["budget_percentile_lower_ms"]) == pytest.approx(19.0)
    assert slow["n_samples"] == "5"
    assert by_key[("mlp", "onnx", "edge")]["on_front"] == "True"
    assert "MemoryError" in by_key[("big", "torch", "edge")]["error"]
    assert by_key[("big", "torch", "edge")]["accuracy"] == ""


def test_summary_lists_front_and_broken_budgets(tmp_path: Path, results, profiles) -> None:
    env = {"cpu_model": "Test CPU 9000", "logical_cores": 2, "usable_cores": 1, "total_memory_mb": 2048.0}
    text = write_summary_md(tmp_path, results, profiles, env).read_text()
    assert "Test CPU 9000" in text and "2 logical cores (1 usable)" in text
    assert "![Pareto front](pareto.png)" in text
    edge = text.split("## edge")[1].split("## server")[0]
    front_rows = [ln for ln in edge.splitlines() if ln.startswith("| mlp")]
    assert front_rows == [next(ln for ln in front_rows if "| onnx |" in ln)]  # only mlp/onnx is on the front
    assert "1 [0.95, 1.05]" in front_rows[0]
    assert "- cnn/onnx: latency_p95_ms 20 vs 10 (100% over)" in edge
    assert "- tiny/onnx-int8: min_accuracy 0.5 vs 0.8 (38% short)" in edge
    assert "big/torch (failed): MemoryError: out of memory" in edge
    server = text.split("## server")[1]
    assert "No feasible model" in server and "1 undecided" in server
    assert "- mlp/onnx: latency_p95_ms: p95 in [-inf, inf] ms" in server


def test_summary_shows_slice_columns(tmp_path: Path, profiles) -> None:
    rs = evaluate([_result("a", "torch", "edge", 0.9, 1.0, 10, slice_accuracy={"long": {"accuracy": 0.75, "n": 4}})],
                  profiles)  # fmt: skip
    text = write_summary_md(tmp_path, rs, profiles, {}).read_text()
    assert "acc[long]" in text and "0.75" in text


def test_pareto_png_is_a_png(tmp_path: Path, results, profiles) -> None:
    # A third profile with no results draws "no measured results" instead of failing.
    profiles = {**profiles, "gpu": HardwareProfile(name="gpu", device="cuda", threads=1)}
    path = write_pareto_png(tmp_path, results, profiles)
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000


def test_write_all_survives_a_plot_failure(tmp_path: Path, results, profiles, monkeypatch) -> None:
    import archbench.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(report, "write_pareto_png", broken)
    paths = write_all(tmp_path, results, profiles, {}, {"run_id": "r"}, complete=True)
    assert set(paths) == {"json", "csv", "latency_png", "summary"}
    summary = paths["summary"].read_text()
    assert "no fonts" in summary and "(pareto.png)" not in summary and "(latency.png)" in summary
    meta, back = read_result_json(paths["json"])
    assert len(back) == len(results) and "no fonts" in meta["run"]["report_notes"][0]


def test_write_all_writes_five_files(tmp_path: Path, results, profiles) -> None:
    paths = write_all(tmp_path / "run", results, profiles, collect_environment(), {"run_id": "r"}, complete=True)
    assert {p.name for p in paths.values()} == {"result.json", "results.csv", "summary.md", "pareto.png",
                                                "latency.png"}
    assert all(p.stat().st_size > 0 for p in paths.values())


def test_render_front_table(results, profiles) -> None:
    from rich.console import Console

    console = Console(width=160, record=True)
    console.print(render_front_table(results, profiles["edge"]))
    console.print(render_front_table(results, profiles["server"]))
    out = console.export_text()
    assert "mlp" in out and "onnx" in out and "p95 ms [lower, upper]" in out and "1 undecided" in out


def test_import_is_cheap() -> None:
    code = (
        "import sys, archbench.report, archbench.env\n"
        "heavy = [m for m in ('matplotlib', 'rich', 'torch', 'onnxruntime', 'transformers', 'optuna')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_environment_and_fingerprint() -> None:
    env = collect_environment()
    json.dumps(env, allow_nan=False)  # JSON-ready as collected
    assert set(sample_machine_state()) == {"cpu_freq_mhz", "load_avg_1m"}
    assert env["logical_cores"] >= 1 and env["cpu_model"]
    assert env["libraries"]["archbench"] == archbench.__version__
    fp = machine_fingerprint(env)
    assert fp == env["fingerprint"] == machine_fingerprint() and len(fp) == 16
    # The load, the hostname and a few MB of memory do not change the machine; the cores do.
    base = {**env, "total_memory_mb": 8190.0}
    moved = {**base, "hostname": "other", "load_average": [9, 9, 9], "total_memory_mb": 8195.0}
    assert machine_fingerprint(moved) == machine_fingerprint(base)
    assert machine_fingerprint({**base, "logical_cores": env["logical_cores"] + 1}) != machine_fingerprint(base)


def test_missing_library_version_is_none(monkeypatch) -> None:
    import archbench.env as env_mod

    monkeypatch.setattr(env_mod, "LIBRARIES", ("archbench", "surely-not-an-installed-dist"))
    assert env_mod.library_versions() == {"archbench": archbench.__version__, "surely-not-an-installed-dist": None}


# ---- one module per job, numbers for people, figures that read --------------------------------


def test_numbers_for_people_never_use_exponents() -> None:
    from archbench import fmt

    assert fmt.num(0.02213) == "0.0221" and fmt.num(1.0) == "1" and fmt.num(1.05) == "1.05"
    assert fmt.num(0.000123) == "0.000123" and fmt.num(12345.6) == "12346" and fmt.num(None) == "-"
    assert fmt.num(math.inf) == "inf" and fmt.num(-math.inf) == "-inf"
    assert fmt.rate(177_123) == "177k/s" and fmt.si(1.234e6) == "1.23M"
    assert fmt.ms(0.022) == "0.022 ms" and fmt.ms(1500) == "1.5 s" and fmt.mb(81.2) == "81.2 MB"
    assert fmt.seconds(3.14) == "3.1 s" and fmt.seconds(125) == "2 min 05 s"
    for v in (1.771e5, 3e-7, 9.99e11, -4.2e-5):
        assert "e" not in fmt.num(v).lower() and "e" not in fmt.si(v).lower()


def _skipped_gpu(n: int) -> list[Result]:
    return [Result(f"c{i}", "torch", "gpu", status="skipped", error="profile skipped: no CUDA device on this machine",
                   feasibility="skipped") for i in range(n)]  # fmt: skip


def test_summary_names_a_skipped_profile_once(tmp_path: Path, results, profiles) -> None:
    profiles = {**profiles, "gpu": HardwareProfile(name="gpu", device="cuda", threads=1)}
    rs = evaluate([*results, *_skipped_gpu(30)], profiles)
    text = write_summary_md(tmp_path, rs, profiles, {}).read_text()
    assert text.count("no CUDA device") == 1
    assert "Skipped: no CUDA device on this machine." in text.split("## gpu")[1]


def test_skipped_profiles_are_left_out_of_the_figures(results, profiles) -> None:
    from archbench.report.common import skipped_profiles

    profiles = {**profiles, "gpu": HardwareProfile(name="gpu", device="cuda", threads=1)}
    rs = [*results, *_skipped_gpu(3)]
    assert skipped_profiles(rs, profiles) == {"gpu": "no CUDA device on this machine"}


def test_labels_of_near_points_do_not_collide() -> None:
    from archbench.report import plotkit

    fig = plotkit.new_figure(4, 3)
    ax = fig.subplots()
    points = [(0.050, 0.980), (0.051, 0.9801), (0.052, 0.9799), (0.0505, 0.9802), (0.08, 0.97)]
    ax.plot(*zip(*points, strict=True), "o")
    ax.set_xscale("log")
    ax.set_xlim(0.03, 0.2)
    ax.set_ylim(0.95, 1.0)
    renderer = plotkit.freeze_layout(fig)
    anns = plotkit.place_labels(ax, renderer, [(x, y, f"candidate-{i}/onnx-int8-pc") for i, (x, y) in
                                               enumerate(points)], points)  # fmt: skip
    from matplotlib.text import Text

    for a in anns:
        a.update_positions(renderer)
    boxes = [Text.get_window_extent(a, renderer) for a in anns]  # the text, without its leader line
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    inside = ax.get_window_extent(renderer)
    assert all(b.x0 >= inside.x0 - 1 and b.x1 <= inside.x1 + 1 for b in boxes)


def test_latency_figure_shows_the_front_and_the_fastest_infeasible(results, profiles) -> None:
    from archbench.report.latency_png import chosen

    front_members, infeasible = chosen([r for r in results if r.profile == "edge"], profiles["edge"])
    assert [r.key for r in front_members] == [("mlp", "onnx", "edge")]
    assert [r.candidate for r in infeasible] == ["tiny", "cnn"]  # fastest first


def test_figures_draw_with_accuracy_intervals_absent_none_or_set(tmp_path: Path, results, profiles) -> None:
    from archbench.report import write_latency_png

    results[0].accuracy_interval = [0.85, 0.94]  # the field may not exist yet on Result: set it on the object
    results[1].accuracy_interval = None
    for write in (write_pareto_png, write_latency_png):
        data = write(tmp_path, results, profiles).read_bytes()
        assert data[:8] == PNG_MAGIC
    rows = {(r["candidate"], r["variant"]): r for r in csv.DictReader(write_csv(tmp_path, results, profiles).open())}
    assert rows[("mlp", "torch")]["accuracy_low"] == "0.85" and rows[("mlp", "onnx")]["accuracy_low"] == ""


def test_reader_per_major_version(tmp_path: Path, results, profiles) -> None:
    from archbench.report.schema import READERS

    assert set(READERS) == {archbench.SCHEMA_VERSION.split(".")[0]}
    path = write_result_json(tmp_path, results, profiles, {}, {}, complete=True)
    doc = json.loads(path.read_text())
    doc["schema_version"] = archbench.SCHEMA_VERSION.split(".")[0] + ".99"  # a newer minor: still readable
    doc["results"][0]["a_field_from_the_future"] = 1
    path.write_text(json.dumps(doc))
    _, back = read_result_json(path)
    assert len(back) == len(results)


def test_plain_front_lines_and_result_line_use_plain_numbers(results, profiles) -> None:
    from archbench.console import result_line
    from archbench.report import plain_front_lines

    lines = plain_front_lines(results, profiles["edge"])
    assert lines[0].startswith("edge: Pareto front (1)") and "mlp/onnx: acc 0.9, p95 1 [0.95, 1.05] ms" in lines[1]
    r = next(r for r in results if r.key == ("cnn", "onnx", "edge"))
    r.timings = {"measure_s": 3.14}
    line = result_line(12, 60, r, profiles["edge"])
    assert line == ("[12/60] cnn/onnx on edge: acc 0.97, p95 20 [19, 21] ms, 60 MB, "
                    "infeasible (latency_p95_ms 20 vs 10 (100% over)), 3.1 s")  # fmt: skip
    failed = next(r for r in results if r.status == "failed")
    assert result_line(1, 2, failed, profiles["edge"]) == "[1/2] big/torch on edge: failed: MemoryError: out of memory"


def test_throughput_interval_in_summary_csv_and_json(tmp_path: Path, results, profiles) -> None:
    """An unbounded upper end is null in JSON (read back as unbounded), 'inf' in the CSV and summary.md."""
    results[0].throughput_interval = [40_000.0, math.inf]
    results[1].throughput, results[1].throughput_interval = 45_200.0, [41_000.0, 49_800.0]
    assert throughput_cell(results[1]) == "45.2k [41k, 49.8k]"
    assert throughput_cell(results[0]).endswith("[40k, inf]")
    path = write_result_json(tmp_path, results, profiles, {}, {"run_id": "r1"}, complete=True)
    assert _strict_loads(path.read_text())["results"][0]["throughput_interval"] == [40_000.0, None]
    _, back = read_result_json(path)
    assert back[0].throughput_interval == [40_000.0, math.inf]
    assert throughput_cell(back[0]).endswith("[40k, inf]")
    with write_csv(tmp_path, results, profiles).open(newline="") as fh:
        rows = {(r["candidate"], r["variant"], r["profile"]): r for r in csv.DictReader(fh)}
    first, second, third = (rows[r.key] for r in results[:3])
    assert (second["throughput_low"], second["throughput_high"]) == ("41000.0", "49800.0")
    assert first["throughput_high"] == "inf" and third["throughput_low"] == ""
