"""Property-based fuzzing of profile and candidate files: every input ends in a valid config or a
one-line ConfigError naming the file, never another exception (so never a traceback in the CLI).

Cases are counted as they run; the last test checks that at least 1,000 ran in this module.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from archbench.config import HardwareProfile, SweepConfig, load_profile, load_sweep_config
from archbench.errors import ConfigError

CASES: Counter[str] = Counter()
VALID: Counter[str] = Counter()  # how many cases parsed: shows the mutations are not all rejected early
MIN_TOTAL_CASES = 1000


def fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))


# One file rewritten per case (no fixture per example); made by the module fixture, not at import.
WORK = Path(tempfile.gettempdir()) / f"archbench-fuzz-{os.getpid()}"
SENTINEL = WORK / "pwned"  # a python/* tag that executed would create it

VALID_PROFILE: dict[str, Any] = {
    "name": "fuzz",
    "device": "cpu",
    "threads": 2,
    "cores": [0, 1],
    "batch_size": 4,
    "input_shape": [1, 8, 8],
    "budget": {"latency_ms": 10.0, "percentile": "p99", "memory_mb": 500, "min_accuracy": 0.9},
    "measure": {"confidence": 0.95, "warmup": 2, "min_samples": 10, "max_samples": 100, "timeout_s": 30.0},
    "upstream": [{"name": "ocr", "latency_ms": 2.0, "accuracy": 0.99}],
}
VALID_CANDIDATES: dict[str, Any] = {
    "task": {"kind": "digits", "test_fraction": 0.3, "seed": 1},
    "train": {"epochs": 2, "lr": 0.01, "batch_size": 32},
    "repeats": 2,
    "profiles": ["edge-1t"],
    "candidates": [
        {"name": "mlp", "kind": "builtin", "family": "mlp", "params": {"hidden": [16, 8]}, "variants": ["torch"]},
        {"name": "cnn", "kind": "builtin", "family": "cnn", "params": {"channels": [4]}},
        {"name": "user", "kind": "import", "target": "pkg.mod:make", "kwargs": {"w": 3}, "trained": True},
        {"name": "file", "kind": "onnx", "path": "m.onnx", "variants": ["onnx", "onnx-int8"]},
    ],
}


@pytest.fixture(scope="module", autouse=True)
def _work_dir():
    WORK.mkdir(exist_ok=True)
    (WORK / "m.onnx").write_bytes(b"not really onnx; only its existence is checked at load time")
    yield
    shutil.rmtree(WORK, ignore_errors=True)


# ---- strategies --------------------------------------------------------------------------------

NASTY_NUMBERS = [0, -1, 1, -(2**63), 2**63, 2**64 + 1, 10**30, -(10**30), 10**400, 1e308, -1e-308, 5e-324,
                 float("nan"), float("inf"), -float("inf"), 0.5, 1.0000001, True, False]  # fmt: skip
NASTY_TEXT = ["", " ", "cpu ", "CPU", "p95", "yes", "no", "null", "~", "1e3", "0x10", "../../etc/passwd",
              "/abs/path", "a\nb", "\x00", "\x1b[31mred", "\ud800", "ünïcødé", "名前", "🦄" * 40, "a" * 5000,
              "pkg.mod:make", "os:system", "${HOME}", "{{7*7}}", "-- -", "%(x)s"]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(NASTY_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(NASTY_TEXT),
    st.binary(max_size=8),  # dumped as !!binary
)
keys = st.one_of(st.text(max_size=10), st.sampled_from(NASTY_TEXT), st.integers(-3, 3), st.booleans())
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every location in a nested document, so a mutation can hit any of them."""
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _nest(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = [leaf] if i % 2 else {"k": leaf}
    return leaf


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> Any:
    """A valid document with 1-4 mutations: wrong types, missing or unknown keys, nasty values, nesting."""
    doc = copy.deepcopy(valid)
    for _ in range(draw(st.integers(1, 4))):
        locations = _paths(doc)
        path = draw(st.sampled_from(locations))
        op = draw(st.sampled_from(["replace", "delete", "add", "nest", "listify", "root"]))
        if op == "root" or not path:
            doc = draw(values) if op == "root" else doc
            continue
        parent, last = _get(doc, path[:-1]), path[-1]
        if op == "replace":
            parent[last] = draw(values)
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(keys)] = draw(values)
        elif op == "nest":
            parent[last] = _nest(draw(st.sampled_from([2, 20, 150])), parent[last])
        elif op == "listify":
            parent[last] = [parent[last]]
        if not isinstance(doc, dict | list):
            break
    return doc


def dump(doc: Any, style: str) -> str:
    if style == "json":  # JSON is YAML too; NaN/Infinity become plain strings there
        return json.dumps(doc, default=repr)
    return yaml.safe_dump(doc, allow_unicode=style == "unicode", default_flow_style=style == "flow", width=80)


TAGGED = [
    f"!!python/object/apply:os.system ['touch {SENTINEL}']",
    f"!!python/object/new:os.system ['touch {SENTINEL}']",
    "!!python/object:builtins.object {}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!binary aGVsbG8=",
    "!!binary '%%%not base64'",
    "!foo bar",
    "!foo {a: 1}",
    "!<tag:example.com,2000:app/x> 1",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!timestamp 2001-12-14t21:59:43.10-05:00",
    "!!float 'nan'",
    "!!int '0x1F'",
    "!!int 'twelve'",
    "!!str 5",
    "!!null ''",
    "!!map [1, 2]",
    ".inf",
    "-.inf",
    ".nan",
    "0o777",
    "1_000",
    "2001-01-01",
    "&a [1, *a]",
    "*undefined",
    "&x 3",
]


@st.composite
def yaml_with_tags(draw: st.DrawFn, valid: dict[str, Any]) -> str:
    """A valid document's text with one value replaced by a tag, anchor/alias or odd scalar literal."""
    lines = yaml.safe_dump(valid, default_flow_style=False).splitlines()
    idx = [i for i, ln in enumerate(lines) if ln.rstrip().endswith(tuple("0123456789abcdefghijklmnopqrstuvwxyz]"))]
    i = draw(st.sampled_from(idx))
    head, sep, _ = lines[i].partition(": ")
    snippet = draw(st.sampled_from(TAGGED))
    lines[i] = f"{head}: {snippet}" if sep else f"{lines[i].split('- ')[0]}- {snippet}"
    if draw(st.booleans()):  # an alias bomb or anchors reused across the document
        bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        bomb += [f"a{j}: &a{j} [*a{j - 1}, *a{j - 1}, *a{j - 1}, *a{j - 1}, *a{j - 1}]" for j in range(1, 9)]
        lines = bomb + lines if draw(st.booleans()) else [*lines, "extra: &e {k: v}", "again: *e"]
    return "\n".join(lines) + "\n"


raw_texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="[]{}:-,&*!|>'\"#%@`? \n\t\\", max_size=80),  # YAML punctuation soup
    st.builds(lambda d: "[" * d + "]" * d, st.integers(1, 1500)),  # deep flow nesting (past the recursion limit)
    st.builds(lambda d: "".join(f"{' ' * i}k{i}:\n" for i in range(d)) + " " * d + "v\n", st.integers(1, 600)),
    st.builds(lambda n: "a: 1\n" * n, st.integers(2, 20)),  # duplicate keys
)

# ---- the property ------------------------------------------------------------------------------


def check(load: Any, text: str | bytes, kind: str, expected: type) -> None:
    """The property: a valid object or a one-line ConfigError that names the file. Anything else fails."""
    path = WORK / f"{kind}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    CASES[kind] += 1
    try:
        config = load(path)
    except ConfigError as exc:
        message = str(exc)
        assert len(message.splitlines()) == 1, message
        assert message.startswith(f"{path}: "), message
        assert message.isprintable(), repr(message)
    else:
        assert isinstance(config, expected)
        VALID[kind] += 1
    assert not SENTINEL.exists(), "a YAML tag ran code"


@fuzz(350)
@given(doc=mutated(VALID_PROFILE), style=st.sampled_from(["block", "flow", "unicode", "json"]))
def test_mutated_profiles(doc, style):
    check(load_profile, dump(doc, style), "profile", HardwareProfile)


@fuzz(350)
@given(doc=mutated(VALID_CANDIDATES), style=st.sampled_from(["block", "flow", "unicode", "json"]))
def test_mutated_candidate_files(doc, style):
    check(load_sweep_config, dump(doc, style), "candidates", SweepConfig)


@fuzz(150)
@given(text=yaml_with_tags(VALID_PROFILE))
def test_profiles_with_tags_anchors_and_odd_scalars(text):
    check(load_profile, text, "profile", HardwareProfile)


@fuzz(150)
@given(text=yaml_with_tags(VALID_CANDIDATES))
def test_candidate_files_with_tags_anchors_and_odd_scalars(text):
    check(load_sweep_config, text, "candidates", SweepConfig)


@fuzz(150)
@given(text=raw_texts | st.binary(max_size=300), which=st.booleans())
def test_raw_text_and_random_bytes(text, which):
    if which:
        check(load_profile, text, "profile", HardwareProfile)
    else:
        check(load_sweep_config, text, "candidates", SweepConfig)


# ---- through the real CLI: exit 2, exactly one line on stderr, never a traceback ------------------

CLI = CliRunner()


def cli_check(profile_text: str, candidates_text: str, kind: str) -> None:
    prof, cands = WORK / "cli-profile.yaml", WORK / "cli-candidates.yaml"
    prof.write_text(profile_text, encoding="utf-8", errors="surrogatepass")
    cands.write_text(candidates_text, encoding="utf-8", errors="surrogatepass")
    CASES[kind] += 1
    # A valid pair would start a sweep: an escaping --run-id stops it right after every file validated.
    args = ["sweep", "-c", str(cands), "-p", str(prof), "--out", str(WORK / "results"), "--run-id", "../escape"]
    result = CLI.invoke(__import__("archbench.cli", fromlist=["app"]).app, args)
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output and not result.stdout
    named = str(prof) if kind == "cli-profile" else str(cands)
    assert named in lines[0] or "--run-id: run_id:" in lines[0], lines[0]


@fuzz(150)
@given(doc=mutated(VALID_PROFILE), style=st.sampled_from(["block", "flow", "json"]))
def test_cli_bad_profile_is_one_line_exit_2(doc, style):
    cands = dump({**VALID_CANDIDATES, "candidates": VALID_CANDIDATES["candidates"][:3]}, "block")
    cli_check(dump(doc, style), cands, "cli-profile")


@fuzz(150)
@given(doc=mutated(VALID_CANDIDATES) | yaml_with_tags(VALID_CANDIDATES))
def test_cli_bad_candidates_is_one_line_exit_2(doc):
    text = doc if isinstance(doc, str) else dump(doc, "block")
    cli_check(dump(VALID_PROFILE, "block"), text.replace("m.onnx", str(WORK / "m.onnx")), "cli-candidates")


def test_the_valid_seeds_are_valid():
    """The mutations start from valid documents, so a rejection is caused by the mutation."""
    (WORK / "seed-p.yaml").write_text(dump(VALID_PROFILE, "block"))
    (WORK / "seed-c.yaml").write_text(dump(VALID_CANDIDATES, "block"))
    assert load_profile(WORK / "seed-p.yaml").name == "fuzz"
    assert len(load_sweep_config(WORK / "seed-c.yaml").candidates) == 4


def test_zz_case_count():
    """Runs last in this module: at least 1,000 generated cases went through the property."""
    total = sum(CASES.values())
    print(f"fuzz cases: {dict(CASES)} total={total}; valid parses: {dict(VALID)}")
    if len(CASES) < 4:  # -k, or tests spread over workers (the suite's own --dist loadfile keeps a module whole)
        pytest.skip("only part of the module ran")
    assert total >= MIN_TOTAL_CASES, CASES
