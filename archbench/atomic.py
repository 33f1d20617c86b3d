"""Atomic file writes: readers see the old file or the whole new one, never a part.

Every temporary file gets a name no other process can pick (pid + random token, created with
O_EXCL), so two sweeps writing the same target at once never share, rename or delete each other's
temporary file: the last complete write wins. One module writes files this way for the whole package.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_with(path: str | Path, writer: Callable[[BinaryIO], object]) -> Path:
    """Stream into a unique temporary file in path's directory with writer(fh), then rename it over path.

    For writers that take a file object (np.savez, zipfile, torch.save): nothing is built in memory
    first, and a writer that raises leaves path untouched and no temporary file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A unique name in the same directory: os.replace is atomic only within one filesystem.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 honours the umask, so the file gets the same mode a plain open() would give.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def write_bytes(path: str | Path, data: bytes) -> Path:
    return write_with(path, lambda fh: fh.write(data))


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable; not possible on every OS/filesystem, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
