"""Data from the user's own code: `target: "package.module:load_data"` (with optional `kwargs`).

The loader returns (x_train, y_train, x_test, y_test) as NumPy arrays (a dict with those keys works
too). It runs in a child process (archbench/tasks/import_child.py), like import-string candidates: the
module is found the same way (the working directory and PYTHONPATH), a crash or hang costs a one-line
error, and a timeout kills the child's whole process group. The arrays come back through an .npz file
loaded with allow_pickle=False, and are then checked like `kind: arrays` (tasks/arrays.py): inputs
real and finite, one label per sample. Default slices: one per class (`class-<label>`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from archbench.config import IMPORT_PATTERN, PositiveFloat, TaskSpecBase
from archbench.errors import ConfigError
from archbench.rowids import record_row_ids
from archbench.tasks.arrays import check_inputs, check_labels
from archbench.tasks.base import TaskData, TaskKind
from archbench.tasks.classes import class_slices, encode_labels, label_text


class ImportTaskSpec(TaskSpecBase):
    """A data loader from the user's code. Runs that code, by design (like import-string candidates)."""

    kind: Literal["import"] = "import"
    target: str = Field(pattern=IMPORT_PATTERN, description="package.module:load_data")
    kwargs: dict[str, Any] = Field(default_factory=dict)
    timeout_s: PositiveFloat = Field(600.0, description="kill the loader's child process after this long")


class ImportTask(TaskKind):
    name = "import"
    Spec = ImportTaskSpec

    @classmethod
    def load(cls, spec: Any, config_file: str | Path = "<config>") -> TaskData:
        return load_import_task(spec, str(config_file))


def load_import_task(spec: Any, config_file: str = "<config>") -> TaskData:
    arrays = run_loader(spec.target, spec.kwargs, spec.timeout_s, config_file)
    try:
        x_train = check_inputs(arrays["x_train"], config_file, "x_train")
        x_test = check_inputs(arrays["x_test"], config_file, "x_test")
        y_train = check_labels(arrays["y_train"], len(x_train), config_file, "y_train")
        y_test = check_labels(arrays["y_test"], len(x_test), config_file, "y_test")
        if x_test.shape[1:] != x_train.shape[1:]:
            raise ConfigError(config_file, "x_test", f"test samples have shape {list(x_test.shape[1:])}, "
                              f"training samples {list(x_train.shape[1:])}")  # fmt: skip
        names, y_tr, y_te = encode_labels([label_text(v) for v in y_train], [label_text(v) for v in y_test],
                                          config_file, config_file, lambda i: f"y_test[{i}]")  # fmt: skip
    except ConfigError as exc:  # name the loader: the arrays are its answer, not a file the user wrote
        raise ConfigError(config_file, "task.target", f"{spec.target} returned {exc.key}: {exc.reason}") from None
    info = {"source": spec.target, "kwargs": spec.kwargs, "labels": names, "sample_shape": list(x_train.shape[1:]),
            "input_dtype": str(x_train.dtype), "split": "as returned by the loader",
            "slices": "default: one per class (class-<label>)"}  # fmt: skip
    record_row_ids(info, train=np.arange(len(y_tr)), test=np.arange(len(y_te)))  # index in the loader's arrays
    return TaskData(f"import:{spec.target}", "tensor", len(names), x_train.astype(np.float32), y_tr,
                    x_test.astype(np.float32), y_te, class_slices(y_te, names), info)  # fmt: skip


def run_loader(target: str, kwargs: dict[str, Any], timeout_s: float, config_file: str) -> dict[str, np.ndarray]:
    """Run the loader in a child (own session, killed as a group on timeout); its arrays, by name."""
    from archbench.measure.runner import JOB_DIR_PREFIX, child_env
    from archbench.tasks.import_child import ARRAY_NAMES, DATA_FILE, ERROR_FILE

    with tempfile.TemporaryDirectory(prefix=JOB_DIR_PREFIX) as tmp:
        job, log = Path(tmp) / "job.json", Path(tmp) / "output.txt"
        job.write_text(json.dumps({"target": target, "kwargs": kwargs}))
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "archbench.tasks.import_child", str(job), tmp],
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=child_env(None),
                                    start_new_session=True)  # fmt: skip
            try:
                code = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                raise ConfigError(config_file, "task.target", f"{target} did not return within "
                                  f"{timeout_s:g} s (task.timeout_s)") from None  # fmt: skip
            except BaseException:  # Ctrl-C: leave no loader running
                _kill_group(proc)
                raise
            _kill_group(proc)  # grandchildren the loader may have left behind
        error, data = Path(tmp) / ERROR_FILE, Path(tmp) / DATA_FILE
        if error.exists():
            raise ConfigError(config_file, "task.target", json.loads(error.read_text())["error"])
        if not data.exists():
            tail = " | ".join(ln.strip() for ln in log.read_text(errors="replace").splitlines()[-2:] if ln.strip())
            raise ConfigError(config_file, "task.target", f"the loader's process exited with code {code} and no "
                              f"data" + (f"; output: {tail[-300:]}" if tail else ""))  # fmt: skip
        try:
            with np.load(data, allow_pickle=False) as z:
                return {name: z[name] for name in ARRAY_NAMES}
        except ValueError as exc:
            raise ConfigError(config_file, "task.target", f"{target} returned unusable arrays: {exc}") from None


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
