"""Where a study lives and how workers share it: Optuna RDB storage (SQLite by default, PostgreSQL for
many machines), heartbeats so a dead worker's trial is failed and retried, and an exact trial budget.

Budget: the study's trial budget counts *original* trials (not retries of a failed one, nor duplicates: a
proposal equal to a point already evaluated is given up unmeasured, see search.duplicate_of). Trial numbers
are unique and ordered in a study (Optuna locks the study row while numbering), so a worker whose new
trial is number k counts the original trials below k: past the budget, it lost a race with another
worker and gives the trial back as FAIL with user attr `archbench_surplus` (never measured).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from archbench.errors import ConfigError

FINGERPRINT = "archbench_fingerprint"
SURPLUS = "archbench_surplus"
DUPLICATE = "archbench_duplicate_of"  # a proposal equal to an evaluated point: PRUNED unmeasured, not counted
MAX_RETRY = 2  # a trial whose worker died is retried at most this often


def storage_url(run_dir: Path, url: str | None) -> str:
    return url if url else f"sqlite:///{run_dir / 'study.db'}"


def masked(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1] if "@" in url else url


SCHEMA_RACE_RETRIES = 5


def open_storage(url: str, heartbeat_s: int) -> Any:
    """An Optuna RDBStorage with heartbeats; a bad URL, a missing driver, an unreachable server or a wrong
    password is one ConfigError."""
    import optuna
    import sqlalchemy.exc

    engine: dict[str, Any] = {"pool_pre_ping": True}
    if url.startswith("postgresql"):
        engine["connect_args"] = {"connect_timeout": 10}
    try:
        for attempt in range(SCHEMA_RACE_RETRIES + 1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                    return optuna.storages.RDBStorage(
                        url, engine_kwargs=engine, heartbeat_interval=heartbeat_s, grace_period=3 * heartbeat_s,
                        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                            max_retry=MAX_RETRY),
                    )  # fmt: skip
            except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
                # Workers starting together on an empty database race to create Optuna's tables; the loser
                # sees a duplicate key. The tables exist then: open again (a little later, out of step).
                if attempt == SCHEMA_RACE_RETRIES:
                    raise
                time.sleep(0.5 + random.random())
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError, ModuleNotFoundError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise ConfigError("--storage", masked(url), f"cannot open the study storage: "
                          f"{reason[0] if reason else type(exc).__name__}") from None  # fmt: skip


def open_study(storage: Any, name: str, directions: list[str], fingerprint: str, sampler: Any) -> Any:
    """Create the study or join it; one made for another space, profile or objectives is refused untouched."""
    import optuna

    try:
        study = optuna.create_study(storage=storage, study_name=name, directions=directions, sampler=sampler,
                                    load_if_exists=True)  # fmt: skip
    except ValueError as exc:  # load_if_exists with other directions
        raise ConfigError("--study", name, f"exists with other objectives: {exc}".splitlines()[0]) from None
    theirs = [d.name.lower() for d in study.directions]
    if theirs != directions:
        raise ConfigError("--study", name, f"exists with directions {theirs}, this search has {directions}")
    stored = study.user_attrs.get(FINGERPRINT)
    if stored is None:
        study.set_user_attr(FINGERPRINT, fingerprint)
    elif stored != fingerprint:
        raise ConfigError("--study", name, f"was created for another space, profile or objectives (fingerprint "
                          f"{stored}, this search {fingerprint}); use another --study or --run-id")  # fmt: skip
    return study


def is_retry(trial: Any) -> bool:
    """A FrozenTrial made by the retry callback for a trial whose worker died."""
    return "failed_trial" in trial.system_attrs


def is_duplicate(trial: Any) -> bool:
    """A trial that proposed an already evaluated point (given up unmeasured)."""
    return DUPLICATE in trial.user_attrs


def counted(trials: list[Any]) -> list[Any]:
    """The trials the budget counts: originals, not retries of a trial whose worker died, nor duplicates."""
    return [t for t in trials if not is_retry(t) and not is_duplicate(t)]


def next_trial(study: Any, budget: int | None, deadline: float | None, poll_s: float = 1.0) -> Any | None:
    """The next trial this worker should run, or None when the study is done (or the deadline passed).

    Retries (WAITING) come first. With the budget spent, the worker waits while other workers' trials are
    RUNNING: a dead worker's trial goes stale after the grace period, is retried, and this worker runs it.
    """
    import optuna
    from optuna.trial import TrialState

    while deadline is None or time.monotonic() < deadline:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # heartbeats with ask/tell: Optuna warns, we beat ourselves
            optuna.storages.fail_stale_trials(study)
            trials = study.get_trials(deepcopy=False)
            waiting = any(t.state == TrialState.WAITING for t in trials)
            if waiting or budget is None or len(counted(trials)) < budget:
                trial = study.ask()
                try:
                    study._storage.record_heartbeat(trial._trial_id)  # at once: a worker killed now still goes stale
                    trial.set_user_attr("worker", worker_name())
                    attrs = study._storage.get_trial_system_attrs(trial._trial_id)
                    if budget is not None and "failed_trial" not in attrs and _ordinal(study, trial) >= budget:
                        trial.set_user_attr(SURPLUS, True)
                        study.tell(trial, state=TrialState.FAIL)
                        continue
                except BaseException:
                    give_back(study, trial)
                    raise
                return trial
        if not any(t.state == TrialState.RUNNING for t in trials):
            return None
        time.sleep(poll_s)
    return None


def worker_name() -> str:
    import os
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _ordinal(study: Any, trial: Any) -> int:
    """How many original trials were created before this one."""
    return len(counted([t for t in study.get_trials(deepcopy=False) if t.number < trial.number]))


@contextmanager
def heartbeat(storage: Any, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every interval while it runs (Optuna's own thread needs optimize())."""
    storage.record_heartbeat(trial_id)  # at once: a worker killed before the first beat still goes stale
    stop = threading.Event()
    interval = storage.get_heartbeat_interval()

    def beat() -> None:
        while not stop.wait(interval):
            with contextlib.suppress(Exception):  # a lost connection: the next beat retries
                storage.record_heartbeat(trial_id)

    thread = threading.Thread(target=beat, name=f"heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def give_back(study: Any, trial: Any) -> None:
    """An interrupted trial: failed now, and queued again (as a retry) for the next run or another worker."""
    import optuna
    from optuna.trial import TrialState

    try:
        study.tell(trial, state=TrialState.FAIL)
        frozen = study._storage.get_trial(trial._trial_id)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)(study, frozen)
    except Exception:  # the storage itself went away: heartbeats will fail the trial later
        pass
