"""Read the user's CSV or JSONL data files into rows; every problem is a ConfigError naming file, row, reason."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archbench.errors import ConfigError
from archbench.userfiles import read_user_text


@dataclass
class Table:
    path: Path
    columns: list[str]  # in file order; for JSONL the union of keys, in first-seen order
    rows: list[dict[str, Any]]
    numbers: list[int]  # each row's number in the file, for error messages
    unit: str  # "row" (CSV data row, header not counted) or "line" (JSONL line)

    def where(self, i: int, column: str) -> str:
        return f"{self.unit} {self.numbers[i]}.{column}"


def file_format(path: Path, declared: str | None) -> str:
    if declared:
        return declared
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    raise ConfigError(path, "task.format", f"cannot tell the format from suffix {suffix!r}: set format: csv or jsonl")


def read_table(path: Path, declared_format: str | None) -> Table:
    fmt = file_format(path, declared_format)
    # utf-8-sig: a BOM from spreadsheet exports is not part of the first column's name
    text = read_user_text(path, "data file", encoding="utf-8-sig")
    table = _read_csv(path, text) if fmt == "csv" else _read_jsonl(path, text)
    if not table.rows:
        raise ConfigError(path, "<file>", "no data rows")
    return table


def _read_csv(path: Path, text: str) -> Table:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    csv.field_size_limit(1 << 24)  # reviews and documents can exceed the 128 KiB default
    # newline="": the csv module splits records itself. str.splitlines would also split at U+0085,
    # U+2028 or a form feed inside a quoted field (valid CSV), breaking the row in two.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    except csv.Error as exc:
        raise ConfigError(path, f"line {reader.line_num + 1}", f"malformed CSV: {exc}") from None
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise ConfigError(path, "<header>", f"repeated column names: {', '.join(dupes)}")
    return Table(path, columns, rows, list(range(1, len(rows) + 1)), "row")


def _read_jsonl(path: Path, text: str) -> Table:
    rows, numbers, columns = [], [], {}
    # JSON Lines are separated by "\n" only (a trailing "\r" is JSON whitespace); str.splitlines would
    # also split at U+0085 or U+2028, which JSON allows unescaped inside a string.
    for n, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise ConfigError(path, f"line {n}", f"invalid JSON: {exc}") from None
        if not isinstance(row, dict):
            raise ConfigError(path, f"line {n}", f"expected a JSON object, got {type(row).__name__}")
        columns.update(dict.fromkeys(row))
        rows.append(row)
        numbers.append(n)
    return Table(path, list(columns), rows, numbers, "line")


def require_column(table: Table, column: str, key: str) -> None:
    if column not in table.columns:
        shown = ", ".join(table.columns[:20]) or "none"
        raise ConfigError(table.path, key, f"no column {column!r} in {table.path.name} (columns: {shown})")


def texts_and_labels(table: Table, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """The text and label of every row; empty or non-text values are errors, not silently skipped."""
    require_column(table, text_column, "task.text_column")
    require_column(table, label_column, "task.label_column")
    texts, labels = [], []
    for i, row in enumerate(table.rows):
        text, label = row.get(text_column), row.get(label_column)
        if not isinstance(text, str):
            reason = "missing text" if text is None else f"expected text, got {type(text).__name__}"
            raise ConfigError(table.path, table.where(i, text_column), reason)
        if not text.strip():
            raise ConfigError(table.path, table.where(i, text_column), "empty text")
        if label is None or isinstance(label, dict | list) or (isinstance(label, str) and not label.strip()):
            raise ConfigError(table.path, table.where(i, label_column), f"missing or invalid label: {label!r}")
        texts.append(text)
        labels.append(str(label).strip())
    return texts, labels
