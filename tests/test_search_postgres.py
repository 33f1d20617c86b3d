"""Many workers, one study, for real: a throw-away PostgreSQL cluster on loopback, two `archbench search`
worker processes filling one study, then one worker killed mid-trial and its trial retried by the other.

Skipped cleanly when no PostgreSQL server binaries (initdb, pg_ctl) or no psycopg2 are found.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SPACE = """
task: {{kind: digits}}
train: {{epochs: {epochs}, seed: 0}}
search:
  base: {{name: w, kind: builtin, family: mlp, variants: [onnx]}}
  params:
    width: {{type: categorical, choices: [8, 12, 16, 24, 32, 48], path: params.hidden, repeat: one}}
    one: {{type: int, low: 1, high: 1}}
"""
PROFILE = """
name: tiny
device: cpu
threads: 1
budget: {latency_ms: 50, percentile: p90, memory_mb: 4000, min_accuracy: 0.3}
measure: {max_seconds: 0.2, min_samples: 20, max_samples: 200, warmup: 2, timeout_s: 120,
          interference_retries: 0}
"""
REPO = Path(__file__).resolve().parent.parent


def pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent  # /usr/local/bin/initdb may link to the real bin dir
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(dirs[-1]) if dirs and (Path(dirs[-1]) / "initdb").exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """(url with a password user, port): a cluster in a temp dir owned by the postgres user, stopped always."""
    bindir = pg_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb/pg_ctl)")
    pytest.importorskip("psycopg2")
    as_pg: list[str] = []
    if os.geteuid() == 0:  # initdb and pg_ctl refuse to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser")
        as_pg = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="archbench-pg-"))
    if as_pg:
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_pg, *cmd], check=True, capture_output=True, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start")  # fmt: skip
    try:
        psql = [str(bindir / "psql"), "-h", str(root), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
        run(*psql, "-c", "CREATE USER archbench PASSWORD 'pw-secret'")
        run(*psql, "-c", "CREATE DATABASE studies OWNER archbench")
        yield f"postgresql+psycopg2://archbench:pw-secret@127.0.0.1:{port}/studies", port
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def worker(tmp: Path, url: str, study: str, trials: int, name: str, space: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "ARCHBENCH_CACHE": str(tmp / "cache")}
    cmd = [sys.executable, "-m", "archbench", "search", "-c", str(space), "-p", str(tmp / "tiny.yaml"),
           "--storage", url, "--study", study, "--trials", str(trials), "--heartbeat", "1", "--sampler", "random",
           "-o", str(tmp / name)]  # fmt: skip
    log = open(tmp / f"{name}.log", "w")  # noqa: SIM115 (the process writes it after we return)
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)


def load(url: str, study: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(study_name=study, storage=url)


def originals(trials):
    """Trials the budget counts (not retries, not duplicates: archbench.search_storage.counted), less surplus."""
    from archbench.search_storage import counted

    return [t for t in counted(trials) if not t.user_attrs.get("archbench_surplus")]


def test_two_workers_fill_one_study_exactly(postgres, tmp_path):
    from optuna.trial import TrialState

    url, _ = postgres
    (tmp_path / "tiny.yaml").write_text(PROFILE)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(epochs=1))
    started = time.monotonic()
    procs = [worker(tmp_path, url, "two", 6, f"w{i}", space) for i in range(2)]
    codes = [p.wait(timeout=900) for p in procs]
    seconds = time.monotonic() - started
    logs = [(tmp_path / f"w{i}.log").read_text() for i in range(2)]
    assert codes == [0, 0], logs
    trials = load(url, "two").get_trials()
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(originals(trials)) == 6 and len(done) == 6, [(t.number, t.state) for t in trials]
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert all("result" in t.user_attrs and "machine" in t.user_attrs for t in done)
    workers = {t.user_attrs["worker"] for t in done}
    print(f"\ntwo workers, 6 trials: {seconds:.0f} s wall; trials per worker "
          f"{sorted(sum(t.user_attrs['worker'] == w for t in done) for w in workers)}; "
          f"surplus asks given back: {sum(bool(t.user_attrs.get('archbench_surplus')) for t in trials)}")
    for i in range(2):  # each worker's report holds every trial of the study (one machine)
        import json

        result = json.loads(next((tmp_path / f"w{i}").glob("*/result.json")).read_text())
        assert len(result["results"]) == 6


def test_killed_worker_trial_is_retried_by_the_other(postgres, tmp_path):
    from optuna.trial import TrialState

    url, _ = postgres
    (tmp_path / "tiny.yaml").write_text(PROFILE)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(epochs=2))  # other builds than the first test: trials take a while
    victim = worker(tmp_path, url, "kill", 3, "victim", space)
    survivor = worker(tmp_path, url, "kill", 3, "survivor", space)
    killed_trial = None
    deadline = time.monotonic() + 600
    while killed_trial is None and time.monotonic() < deadline and victim.poll() is None:
        time.sleep(0.3)
        try:
            # mid-trial = its point chosen and being measured: a worker killed before it has suggested its
            # values leaves nothing to re-evaluate, and its retry rightly samples afresh
            running = [t for t in load(url, "kill").get_trials() if t.state == TrialState.RUNNING
                       and t.user_attrs.get("worker", "").endswith(f":{victim.pid}")
                       and {"one", "width[0]"} <= t.params.keys()]  # fmt: skip
        except KeyError:  # the study is not created yet
            continue
        if running:
            killed_trial = running[0].number
            victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert killed_trial is not None, (tmp_path / "victim.log").read_text()
    started = time.monotonic()
    assert survivor.wait(timeout=900) == 0, (tmp_path / "survivor.log").read_text()
    trials = load(url, "kill").get_trials()
    by_number = {t.number: t for t in trials}
    assert by_number[killed_trial].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed_trial]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == by_number[killed_trial].params
    assert retries[0].user_attrs["worker"].endswith(f":{survivor.pid}")
    assert len(originals(trials)) == 3
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3
    print(f"\nkilled trial {killed_trial} retried as trial {retries[0].number}; survivor finished "
          f"{time.monotonic() - started:.0f} s after the kill")


def test_wrong_password_and_unreachable_server_are_one_line(postgres, tmp_path):
    url, _ = postgres
    (tmp_path / "tiny.yaml").write_text(PROFILE)
    space = tmp_path / "space.yaml"
    space.write_text(SPACE.format(epochs=1))
    env = {**os.environ, "PYTHONPATH": str(REPO), "ARCHBENCH_CACHE": str(tmp_path / "cache")}
    for bad in (url.replace("pw-secret", "wrong-pw"), f"postgresql://archbench:pw-secret@127.0.0.1:{free_port()}/x"):
        cmd = [sys.executable, "-m", "archbench", "search", "-c", str(space), "-p", str(tmp_path / "tiny.yaml"),
               "--storage", bad, "--trials", "1", "-o", str(tmp_path / "r")]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --storage: "), proc.stderr
        assert "pw-secret" not in proc.stderr and "wrong-pw" not in proc.stderr
