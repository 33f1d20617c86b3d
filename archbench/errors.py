"""Errors a user can act on: each names the file, the key and the reason on one line."""

from __future__ import annotations


class ArchbenchError(Exception):
    """Base class for errors the CLI turns into a one-line message and exit code 2."""


class ConfigError(ArchbenchError):
    def __init__(self, file: str, key: str, reason: str) -> None:
        # The key can be a user's own (unknown) key: it may hold newlines or terminal escapes too.
        self.file, self.key, self.reason = _printable(str(file)), _one_line(key) or "<root>", _one_line(reason)
        super().__init__(f"{self.file}: {self.key}: {self.reason}")


class CandidateError(ArchbenchError):
    """A candidate could not be built, exported or run. Recorded as a failed result, never fatal."""


def _one_line(text: str) -> str:
    return _printable(" ".join(str(text).split()))


def _printable(text: str) -> str:
    """Escape what a terminal would act on (control characters, lone surrogates) instead of printing it."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
