"""Errors a user can act on: each names the file, the key and the reason on one line."""

from __future__ import annotations


class ArchbenchError(Exception):
    """Base class for errors the CLI turns into a one-line message and exit code 2."""


class ConfigError(ArchbenchError):
    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = str(file), key or "<root>", _one_line(reason)
        super().__init__(f"{self.file}: {self.key}: {self.reason}")


class CandidateError(ArchbenchError):
    """A candidate could not be built, exported or run. Recorded as a failed result, never fatal."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
