"""docs/configuration.md documents every key with its real default; the example file parses."""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

from bot.config.loader import load_config
from bot.config.schema import Config
from tests.paths import REPO_ROOT

DOCS = REPO_ROOT / "docs"
REFERENCE = DOCS / "configuration.md"
EXAMPLE = DOCS / "maintbot.example.yml"
ANY_ENTRY = "<*>"  # a free key of a mapping, written <role> or <type> in the docs


def code_keys(cls: type, prefix: str = "") -> Iterator[str]:
    """Every key path the dataclasses define, found by walking their fields and types."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        path = f"{prefix}{f.name}"
        yield path
        kind = hints[f.name]
        if dataclasses.is_dataclass(kind):
            yield from code_keys(kind, path + ".")
        elif typing.get_origin(kind) is Mapping:
            value_kind = typing.get_args(kind)[1]
            if dataclasses.is_dataclass(value_kind):
                yield from code_keys(value_kind, f"{path}.{ANY_ENTRY}.")


def table_rows(header: str) -> list[list[str]]:
    """The body rows of every Markdown table in the reference whose header row is ``header``."""
    rows: list[list[str]] = []
    inside = False
    for line in REFERENCE.read_text(encoding="utf-8").splitlines():
        if line.strip() == header:
            inside = True
        elif inside and line.startswith("| ---"):
            continue
        elif inside and line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        else:
            inside = False
    return rows


def unticked(cell: str) -> str | None:
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else None


def documented_keys() -> dict[str, list[str]]:
    rows = table_rows("| Key | Type | Default | Meaning |")
    keys: dict[str, list[str]] = {}
    for row in rows:
        key = unticked(row[0])
        assert key is not None, f"key cell not in backticks: {row}"
        keys[re.sub(r"<\w+>", ANY_ENTRY, key)] = row
    return keys


def default_at(path: str) -> Any:
    """The default value at a documented key path, read from the objects (not the loader)."""
    node: Any = Config.default()
    for segment in path.split("."):
        if segment == ANY_ENTRY:
            node = type(next(iter(node.values())))()  # a fresh entry: the value class's defaults
        elif isinstance(node, Mapping):
            node = node[segment]
        else:
            node = getattr(node, segment)
    return node


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    return value


def test_the_key_walker_sees_nested_and_mapping_keys():
    keys = set(code_keys(Config))
    assert {"bench.thresholds.alpha", "labels.styles.<*>.color", "commands.min_permission"} <= keys


def test_every_key_in_the_code_is_documented():
    missing = sorted(set(code_keys(Config)) - set(documented_keys()))
    assert not missing, f"add these keys to docs/configuration.md: {missing}"


def test_every_documented_key_exists():
    for key in documented_keys():
        try:
            default_at(key)
        except (AttributeError, KeyError):
            pytest.fail(f"docs/configuration.md documents {key}, which the code does not have")


def test_every_documented_default_is_the_real_default():
    for key, (_, kind, default_cell, meaning) in documented_keys().items():
        assert kind and meaning, f"{key}: type and meaning must be filled in"
        actual = default_at(key)
        if default_cell == "see below":
            assert dataclasses.is_dataclass(actual) or isinstance(actual, Mapping), key
            continue
        written = unticked(default_cell)
        assert written is not None, f"{key}: default cell must be YAML in backticks"
        assert yaml.safe_load(written) == plain(actual), f"{key}: docs say {written}"


def test_default_label_styles_table():
    rows = table_rows("| Role | Color | Description |")
    documented = {unticked(role): {"color": unticked(c), "description": d} for role, c, d in rows}
    assert documented == plain(Config.default().labels.styles)


def leaves(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    else:
        yield path, data


def test_example_file_parses_and_every_value_it_writes_is_read():
    config = load_config(EXAMPLE)
    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    effective = config.to_dict()
    checked = 0
    for path, value in leaves(raw):
        *parents, leaf = path.split(".")
        node = effective
        for segment in parents:
            node = node[segment]
        if value is None and parents == ["labels", "types"]:
            assert leaf not in node, f"{path}: ~ drops the type"
        else:
            assert node[leaf] == value, path
        checked += 1
    assert checked > 40  # the example shows most keys


def test_example_differs_from_the_defaults_so_it_demonstrates_something():
    assert load_config(EXAMPLE) != Config.default()
