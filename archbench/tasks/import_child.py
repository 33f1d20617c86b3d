"""Child side of the `import` task kind: `python -m archbench.tasks.import_child JOB.json OUT_DIR`.

Imports the user's `package.module:load_data`, calls it with the job's kwargs, and writes what it
returned as OUT_DIR/data.npz (plain arrays only: object arrays are refused, so the parent can load it
with allow_pickle=False), or OUT_DIR/error.json with one line saying why not. The user's code runs
here, not in the sweep's process: a crash, a hang or a stray global cannot take the sweep down.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
DATA_FILE = "data.npz"
ERROR_FILE = "error.json"


class LoaderError(Exception):
    """What the user's loader did wrong, in one line."""


def main(argv: list[str]) -> int:
    from archbench.measure.runner import die_with_parent

    job_path, out_dir = Path(argv[0]), Path(argv[1])
    die_with_parent(job_path.parent)  # a sweep killed while the loader runs must not leave it running
    job = json.loads(job_path.read_text())
    try:
        arrays = unpack(call_loader(job["target"], job.get("kwargs", {})))
        np.savez(out_dir / DATA_FILE, **arrays)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LoaderError) else f"{type(exc).__name__}: {exc}"
        (out_dir / ERROR_FILE).write_text(json.dumps({"error": " ".join(reason.split())[:400]}))
    return 0


def call_loader(target: str, kwargs: dict[str, Any]) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure of the user's code
        raise LoaderError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from exc
    loader = getattr(module, attr, None)
    if not callable(loader):
        raise LoaderError(f"module {module_name!r} has no callable {attr!r}")
    try:
        return loader(**kwargs)
    except Exception as exc:
        raise LoaderError(f"{target} raised {type(exc).__name__}: {exc}") from exc


def unpack(data: Any) -> dict[str, np.ndarray]:
    """(x_train, y_train, x_test, y_test) or a dict with those keys -> plain arrays, by name."""
    if isinstance(data, dict):
        missing = [k for k in ARRAY_NAMES if k not in data]
        if missing:
            raise LoaderError(f"returned a dict without {', '.join(missing)} (keys: {', '.join(map(str, data))})")
        values = [data[k] for k in ARRAY_NAMES]
    elif isinstance(data, tuple | list) and len(data) == 4:
        values = list(data)
    else:
        raise LoaderError(f"returned {type(data).__name__}; expected (x_train, y_train, x_test, y_test) or a "
                          "dict with those keys")  # fmt: skip
    out = {}
    for name, value in zip(ARRAY_NAMES, values, strict=True):
        if hasattr(value, "detach"):  # a torch tensor: to NumPy without importing torch here
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.dtype == object:
            raise LoaderError(f"{name} is an array of Python objects; return numeric (or, for labels, string) arrays")
        out[name] = arr
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
