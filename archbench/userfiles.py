"""Reading a file the user named: every failure becomes a one-line ConfigError naming the file."""

from __future__ import annotations

from pathlib import Path

from archbench.errors import ConfigError


def read_user_text(path: Path, what: str, encoding: str = "utf-8", max_bytes: int | None = None,
                   allow_empty: bool = False) -> str:  # fmt: skip
    """The file's text. `what` names the expected kind ("YAML file", "data file") for the messages."""
    try:
        if max_bytes is not None:
            size = path.stat().st_size
            if size > max_bytes:
                raise ConfigError(path, "<file>", f"too large ({size} bytes, limit {max_bytes})")
        text = path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise ConfigError(path, "<file>", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(path, "<file>", f"is a directory, not a {what}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, "<file>", f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(path, "<file>", f"unreadable: {exc.strerror or exc}") from None
    if not allow_empty and not text.strip():
        raise ConfigError(path, "<file>", "file is empty")
    return text
