"""Where profiles come from: shipped with archbench, the user's profile directory, or a path."""

from __future__ import annotations

import os
from pathlib import Path

from archbench.config import HardwareProfile, load_profile
from archbench.errors import ConfigError


def shipped_dir() -> Path:
    """profiles/ of a source checkout (editable install), or the copy packaged into the wheel."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "profiles", here / "_profiles"):
        if candidate.is_dir():
            return candidate
    return here / "_profiles"


def user_dir() -> Path:
    env = os.environ.get("ARCHBENCH_PROFILES")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "archbench" / "profiles"


def available() -> dict[str, tuple[str, Path]]:
    """name -> (origin, path); a user profile of the same file name overrides a shipped one."""
    found: dict[str, tuple[str, Path]] = {}
    for origin, directory in (("shipped", shipped_dir()), ("user", user_dir())):
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml")):
                found[path.stem] = (origin, path)
    return found


def resolve(ref: str) -> HardwareProfile:
    """A profile by name (shipped or user) or by path to a YAML file."""
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or os.sep in ref:
        return load_profile(path)
    known = available()
    if ref not in known:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(ref, "<profile>", f"no profile named {ref!r} (available: {names})")
    return load_profile(known[ref][1])


def default_profiles() -> list[HardwareProfile]:
    """Every shipped profile; the sweep skips those whose device this machine lacks, with a reason."""
    return [load_profile(p) for origin, p in available().values() if origin == "shipped"]
