"""`archbench search`: trials through the real build + measure path, storage and resume, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archbench.errors import ConfigError
from archbench.result import BudgetVerdict, Result
from archbench.search import DIRECTIONS, EPS, MAX_REPEATS, constraints, objectives
from archbench.search_storage import DUPLICATE

REPO = Path(__file__).resolve().parent.parent
SPACE = """
task: {kind: digits}
train: {epochs: 2, seed: 0}
search:
  base: {name: m, kind: builtin, family: mlp, variants: [onnx]}
  params:
    layers: {type: int, low: 1, high: 2}
    width: {type: categorical, choices: [8, 32], path: params.hidden, repeat: layers}
"""


def storage(tmp_path, heartbeat=1):
    import optuna

    from archbench.search_storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return open_storage(f"sqlite:///{tmp_path / 'study.db'}", heartbeat)


def test_objectives_and_undecided_constraint():
    from archbench.config import HardwareProfile

    prof = HardwareProfile.model_validate({"name": "p", "device": "cpu", "threads": 1})
    r = Result("a", "onnx", "p", accuracy=0.9, latency={"p95": 1.5}, memory={"peak_rss_mb": 80.0})
    assert objectives(r, prof) == (0.9, 1.5, 80.0)
    r.verdicts = [BudgetVerdict("latency_p95_ms", "undecided", 1.9, 2.0, -0.1),
                  BudgetVerdict("memory_mb", "pass", 80, 100, -20), BudgetVerdict("min_accuracy", "fail", 0.9, 0.95,
                                                                                 0.05)]  # fmt: skip
    assert constraints(r) == {"latency_p95_ms": EPS, "memory_mb": -20, "min_accuracy": 0.05}


def test_study_of_another_space_is_refused_untouched(tmp_path):
    import optuna

    from archbench.search_storage import FINGERPRINT, open_study

    st = storage(tmp_path)
    study = open_study(st, "s", DIRECTIONS, "aaaa", optuna.samplers.RandomSampler())
    study.tell(study.ask(), [0.5, 1.0, 1.0])
    with pytest.raises(ConfigError, match="another space"):
        open_study(st, "s", DIRECTIONS, "bbbb", optuna.samplers.RandomSampler())
    with pytest.raises(ConfigError, match="--study: s: "):
        open_study(st, "s", ["minimize", "minimize", "minimize"], "aaaa", optuna.samplers.RandomSampler())
    again = optuna.load_study(study_name="s", storage=st)
    assert again.user_attrs[FINGERPRINT] == "aaaa" and len(again.trials) == 1


def test_budget_counts_originals_and_stale_trials_are_retried(tmp_path):
    import optuna
    from optuna.trial import TrialState

    from archbench.search_storage import give_back, is_retry, next_trial, open_study

    study = open_study(storage(tmp_path), "s", DIRECTIONS, "f", optuna.samplers.RandomSampler(seed=0))
    first = next_trial(study, 3, None)
    first.suggest_int("x", 0, 100)
    study.tell(first, [0.5, 1.0, 1.0])
    dead = next_trial(study, 3, None)  # its worker "dies": no more heartbeats after the first
    x = dead.suggest_int("x", 0, 100)
    third = next_trial(study, 3, None)
    third.suggest_int("x", 0, 100)
    give_back(study, third)  # an interrupt: failed now and queued again at once
    t0 = time.monotonic()
    retries = []
    while (t := next_trial(study, 3, time.monotonic() + 20, poll_s=0.2)) is not None:
        retries.append(t)
        t.suggest_int("x", 0, 100)
        study.tell(t, [0.5, 1.0, 1.0])
    waited = time.monotonic() - t0
    trials = study.get_trials()
    assert [t.state for t in trials[:3]] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL]
    assert len(retries) == 2 and all(is_retry(t) for t in trials[3:])
    assert {t.system_attrs["failed_trial"] for t in trials[3:]} == {1, 2}
    assert next(t for t in trials[3:] if t.system_attrs["failed_trial"] == 1).params["x"] == x
    assert waited >= 2.5  # the dead worker's trial went stale only after the grace period (3 heartbeats)


def test_surplus_trial_from_a_race_is_given_back(tmp_path, monkeypatch):
    import optuna
    from optuna.trial import TrialState

    from archbench import search_storage
    from archbench.search_storage import SURPLUS, next_trial, open_study

    study = open_study(storage(tmp_path), "s", DIRECTIONS, "f", optuna.samplers.RandomSampler(seed=0))
    study.ask()  # another worker's trial: the budget of 1 is spent
    real = search_storage.counted
    calls = []

    def stale_count(trials):  # this worker read the trial count before the other worker's ask landed
        calls.append(1)
        return [] if len(calls) == 1 else real(trials)

    monkeypatch.setattr(search_storage, "counted", stale_count)
    assert next_trial(study, 1, time.monotonic() + 1, poll_s=0.1) is None
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.RUNNING, TrialState.FAIL]
    assert trials[1].user_attrs.get(SURPLUS) is True and "x" not in trials[1].params


def test_repeated_point_is_a_duplicate_and_not_counted(tmp_path):
    import optuna
    from optuna.trial import TrialState

    from archbench.search import duplicate_of
    from archbench.search_storage import DUPLICATE, counted, give_back, next_trial, open_study

    study = open_study(storage(tmp_path), "s", DIRECTIONS, "f", optuna.samplers.RandomSampler(seed=0))
    for x in (1, 1, 2, 2):
        study.enqueue_trial({"x": x})

    def ask():
        t = next_trial(study, 4, None)
        t.suggest_int("x", 0, 100)
        return t

    first = ask()
    study.tell(first, [0.5, 1.0, 1.0])
    again = ask()
    assert duplicate_of(study, again) == first.number
    again.set_user_attr(DUPLICATE, first.number)
    study.tell(again, state=TrialState.PRUNED)
    interrupted = ask()  # x=2, given back unmeasured: not an evaluation, so x=2 is still new
    give_back(study, interrupted)
    a = ask()  # the retry of x=2 or the queued x=2
    assert a.params == {"x": 2} and duplicate_of(study, a) is None
    a.set_user_attr("error", "build failed")  # a measured failure is an evaluation
    study.tell(a, state=TrialState.FAIL)
    b = ask()
    assert b.params == {"x": 2} and duplicate_of(study, b) == a.number
    study.tell(b, state=TrialState.PRUNED)  # (no duplicate attr: counted like any trial)
    assert len(counted(study.get_trials())) == 3  # first, the interrupted x=2, the queued x=2; not dup, not retry


def run_cli(tmp_path, *args, timeout=900):
    env = {**os.environ, "PYTHONPATH": str(REPO), "ARCHBENCH_CACHE": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "archbench", "search", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=tmp_path)  # fmt: skip


@pytest.mark.parametrize(("space", "storage_url", "key"), [
    ("task: {kind: digits}\nsearch: {base: {name: m, kind: builtin, family: mlp}, params: {}}\n", None,
     "search.params"),
    (SPACE.replace("params.hidden", "params.width"), None, "search.params.width.path"),
    (SPACE, "notadb://x", "--storage"),
    (SPACE, "sqlite:////nonexistent-dir/sub/x.db", "--storage"),
])  # fmt: skip
def test_bad_input_is_one_line_exit_2(tmp_path, tiny_profile, space, storage_url, key):
    (tmp_path / "s.yaml").write_text(textwrap.dedent(space))
    args = ["-c", "s.yaml", "-p", str(tiny_profile), "--trials", "1"] + (["--storage", storage_url] if storage_url
                                                                         else [])  # fmt: skip
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and f": {key}" in lines[0], proc.stderr


@pytest.mark.slow
def test_search_writes_front_and_resumes(tmp_path, tiny_profile):
    import optuna

    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPACE))
    args = ["-c", "s.yaml", "-p", str(tiny_profile), "-o", "r", "--run-id", "s1", "--sampler", "grid"]
    proc = run_cli(tmp_path, *args, "--trials", "3")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = tmp_path / "r" / "s1"
    for name in ("result.json", "results.csv", "summary.md", "pareto.png", "hypervolume.png", "study.db"):
        assert (run / name).exists(), name
    doc = json.loads((run / "result.json").read_text())
    assert len(doc["results"]) == 3 and len(doc["run"]["search"]["hypervolume"]) == 3
    assert proc.stdout.count("trial ") >= 3
    # Each trial keeps its own run directory (data files, no figures: the search draws the whole front).
    trial_dirs = sorted((run / "trials").iterdir())
    assert len(trial_dirs) == 3 and all((d / "result.json").exists() and (d / "summary.md").exists()
                                        and not list(d.glob("*.png")) for d in trial_dirs)  # fmt: skip
    # Rerun with a larger budget: the three done trials are not repeated; the grid's other three are run.
    proc = run_cli(tmp_path, *args, "--trials", "6")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    study = optuna.load_study(study_name="s1", storage=f"sqlite:///{run / 'study.db'}")
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(study.trials) == 6 and len(done) == 6
    assert len({json.dumps(t.params, sort_keys=True) for t in done}) == 6  # the whole grid, each point once
    assert "6 trials in this front (3 measured now)" in proc.stdout
    # The same run id with another space: refused, nothing overwritten.
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPACE).replace("[8, 32]", "[8, 64]"))
    proc = run_cli(tmp_path, *args)
    assert proc.returncode == 2 and "another space" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert len(optuna.load_study(study_name="s1", storage=f"sqlite:///{run / 'study.db'}").trials) == 6
    # NSGA-II on the exhausted grid: every proposal repeats a measured point; none is measured or counted,
    # and the search stops after MAX_REPEATS of them in a row.
    (tmp_path / "s.yaml").write_text(textwrap.dedent(SPACE))
    proc = run_cli(tmp_path, *args[:-2], "--sampler", "nsga2", "--trials", "8")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "6 trials in this front (0 measured now)" in proc.stdout
    trials = optuna.load_study(study_name="s1", storage=f"sqlite:///{run / 'study.db'}").trials
    dups = [t for t in trials[6:] if DUPLICATE in t.user_attrs]
    assert len(trials) == 6 + MAX_REPEATS and len(dups) == MAX_REPEATS
    assert all(t.state.name == "PRUNED" and trials[t.user_attrs[DUPLICATE]].params == t.params for t in dups)
