"""Reads maintbot's YAML into the typed ``Config``, with errors that name the key and the line.

The YAML is composed into nodes (``yaml.compose``) rather than loaded into dicts, so every
key and value keeps its position in the file: a mistake deep in the file is reported as
``.github/maintbot.yml:7: bench.thresholds.alpha: ...``. Values the file leaves out keep
their defaults, section by section and key by key.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import math
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.config.frozen import FrozenMap
from bot.config.rules import Rule
from bot.config.schema import CONFIG_VERSION, Config, as_plain_data, field_rules, key_rule
from bot.errors import ConfigError

_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"

_NO_DEFAULT = object()  # list items have no default of their own

YAML_HINT = (
    "Fix the YAML at that line: indent with spaces, not tabs, and quote values that contain "
    "': ', [ ] { } inside a flow list, or start with one of # * & ! @ `."
)


def parse_config(text: str, *, source: str = "<string>") -> Config:
    """Parses the text of a maintbot.yml; an empty file (or only comments) means the defaults."""
    root = _compose(text, source)
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        return Config.default()
    reader = _Reader(source)
    if not isinstance(root, MappingNode):
        raise ConfigError(
            f"the top level must be a mapping of sections, got {_describe(root)}",
            source=source,
            line=_line(root),
            hint=f"Start the file with section keys: {', '.join(_field_names(Config))}.",
        )
    reader.check_version(root)
    config = reader.read_dataclass(root, Config, Config.default(), path="", line=_line(root))
    reader.check_cross_references(config)
    return config


def load_config(path: str | Path | None) -> Config:
    """Loads a local configuration file; ``None`` means "no file": the defaults."""
    if path is None:
        return Config.default()
    file = Path(path)
    source = str(file)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "configuration file not found",
            source=source,
            hint="Check the path given to --config, or leave --config out to use the defaults.",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            "this is a directory, not a configuration file",
            source=source,
            hint="Point --config at the YAML file itself, e.g. .github/maintbot.yml.",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the configuration file ({exc.strerror})",
            source=source,
            hint="Check the file's permissions.",
        ) from None
    return parse_config(decode_config_bytes(data, source=source), source=source)


def decode_config_bytes(data: bytes, *, source: str) -> str:
    """UTF-8 (a byte-order mark allowed), or an error that says on which line it is not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            "the file is not valid UTF-8 text",
            source=source,
            line=data[: exc.start].count(b"\n") + 1,
            hint="Save the file as UTF-8.",
        ) from None


# ------------------------------------------------------------------------------------ YAML → nodes


def _compose(text: str, source: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise ConfigError(
            f"invalid YAML: {what}",
            source=source,
            key=_open_key_path_at_error(text),
            line=mark.line + 1 if mark else None,
            hint=YAML_HINT,
        ) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError(
            f"invalid YAML: {exc.reason} (character {exc.character!r})",
            source=source,
            line=text.count("\n", 0, exc.position) + 1,
            hint="Remove the control character; YAML files hold printable text only.",
        ) from None
    except yaml.YAMLError as exc:  # any other PyYAML failure still names the file
        raise ConfigError(f"invalid YAML: {exc}", source=source, hint=YAML_HINT) from None


@dataclasses.dataclass
class _Frame:
    is_mapping: bool
    key: str | None = None
    awaiting_key: bool = True


def _open_key_path_at_error(text: str) -> str | None:
    """The keys whose values were open where PyYAML gave up, e.g. ``bench.thresholds``.

    A syntax error has no node to ask, so this replays the parser's events up to the failure.
    """
    stack: list[_Frame] = []

    def node_done() -> None:
        if stack and stack[-1].is_mapping:
            stack[-1].awaiting_key = not stack[-1].awaiting_key

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
                if stack and stack[-1].is_mapping and stack[-1].awaiting_key:
                    stack[-1].key = getattr(event, "value", None)
                node_done()
            elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if stack and stack[-1].is_mapping and stack[-1].awaiting_key:
                    stack[-1].key = None  # a complex key: nothing useful to name
                stack.append(_Frame(is_mapping=isinstance(event, yaml.MappingStartEvent)))
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                stack.pop()
                node_done()
    except yaml.YAMLError:
        keys = [f.key for f in stack if f.is_mapping and not f.awaiting_key and f.key]
        return ".".join(keys) or None
    return None


# ------------------------------------------------------------------------------- nodes → objects


class _Reader:
    """Walks the node tree beside the dataclasses; remembers each key's line for later checks."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[str, int] = {}

    def fail(self, message: str, *, key: str | None, line: int | None, hint: str) -> ConfigError:
        return ConfigError(message, source=self.source, key=key or None, line=line, hint=hint)

    # -- the version comes first: a file for another version would fail in confusing ways

    def check_version(self, root: MappingNode) -> None:
        for key_node, value_node in root.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "version":
                version = self.read_scalar(value_node, int, CONFIG_VERSION, "version", None)
                if version != CONFIG_VERSION:
                    raise self.fail(
                        f"unsupported configuration version {version}; this maintbot reads "
                        f"version {CONFIG_VERSION}",
                        key="version",
                        line=_line(value_node),
                        hint=f"Set version: {CONFIG_VERSION} and use the keys documented in "
                        "docs/configuration.md, or upgrade maintbot.",
                    )

    # -- dispatch on the declared type

    def read_value(
        self, node: Node, kind: Any, default: Any, path: str, line: int, keys: Rule | None = None
    ) -> Any:
        origin = typing.get_origin(kind)
        if dataclasses.is_dataclass(kind):
            return self.read_dataclass(node, kind, default, path, line)
        if origin is Mapping:
            return self.read_mapping(node, kind, default, path, line, keys)
        if origin is tuple:
            return self.read_list(node, kind, default, path, line)
        if origin is Literal:
            return self.read_choice(node, kind, default, path, line)
        if origin is types.UnionType:
            inner = [arg for arg in typing.get_args(kind) if arg is not type(None)]
            if node_is_null(node):
                return None
            return self.read_value(node, inner[0], default, path, line, keys)
        return self.read_scalar(node, kind, default, path, line)

    def read_dataclass(self, node: Node, cls: type, default: Any, path: str, line: int) -> Any:
        if node_is_null(node):  # "triage:" with every sub-key commented out
            return default
        if not isinstance(node, MappingNode):
            expected = f"a mapping with keys {_keys_text(cls)}"
            raise self.type_error(node, expected, default, path, line)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        hints = _type_hints(cls)
        changes: dict[str, Any] = {}
        for key_node, value_node in node.value:
            name = self.key_name(key_node, path)
            full = _join(path, name)
            key_line = _line(key_node)
            if name in changes:
                raise self.duplicate_key(full, key_line)
            if name not in fields:
                raise self.unknown_key(name, cls, path, key_line)
            self.lines[full] = key_line
            f = fields[name]
            value = self.read_value(
                value_node, hints[name], getattr(default, name), full, key_line, key_rule(f)
            )
            self.apply_rules(field_rules(f), value, value_node, full, key_line)
            changes[name] = value
        return dataclasses.replace(default, **changes)

    def read_mapping(
        self, node: Node, kind: Any, default: Any, path: str, line: int, keys: Rule | None
    ) -> FrozenMap[str, Any]:
        if node_is_null(node):
            return default
        if not isinstance(node, MappingNode):
            raise self.type_error(node, "a mapping", default, path, line)
        value_kind = typing.get_args(kind)[1]
        entries = dict(default)
        seen: set[str] = set()
        for key_node, value_node in node.value:
            name = self.key_name(key_node, path)
            full = _join(path, name)
            key_line = _line(key_node)
            if name in seen:
                raise self.duplicate_key(full, key_line)
            seen.add(name)
            self.lines[full] = key_line
            if keys is not None and (problem := keys.problem(name)):
                raise self.fail(problem, key=full, line=key_line, hint=keys.hint)
            if dataclasses.is_dataclass(value_kind):
                base = entries.get(name, value_kind())
                entries[name] = self.read_dataclass(value_node, value_kind, base, full, key_line)
            elif node_is_null(value_node):  # "docs: ~" drops a default entry
                entries.pop(name, None)
            else:
                entries[name] = self.read_value(
                    value_node, value_kind, entries.get(name), full, key_line
                )
        return FrozenMap(entries)

    def read_list(self, node: Node, kind: Any, default: Any, path: str, line: int) -> tuple:
        if node_is_null(node):  # "ignore_users:" with every item commented out
            return ()
        item_kind = typing.get_args(kind)[0]
        if not isinstance(node, SequenceNode):
            example = f"[{node.value}]" if isinstance(node, ScalarNode) else "[a, b]"
            raise self.type_error(
                node,
                f"a list of {_plural_kind_text(item_kind)}",
                default,
                path,
                line,
                hint=f"Write a list, e.g. {_leaf(path)}: {example}, or one '- item' per line.",
            )
        items = []
        for index, item_node in enumerate(node.value):
            item_path = f"{path}[{index}]"
            self.lines[item_path] = _line(item_node)
            item = self.read_value(item_node, item_kind, _NO_DEFAULT, item_path, _line(item_node))
            items.append(item)
        return tuple(items)

    def read_choice(self, node: Node, kind: Any, default: Any, path: str, line: int) -> str:
        choices = [str(choice) for choice in typing.get_args(kind)]
        value = self.read_scalar(node, str, default, path, line, expected=_kind_text(kind))
        if value in choices:
            return value
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Use one of: {', '.join(choices)}."
        raise self.fail(
            f"{value!r} is not one of: {', '.join(choices)}",
            key=path,
            line=_value_line(node, line),
            hint=hint,
        )

    def read_scalar(
        self,
        node: Node,
        kind: type,
        default: Any,
        path: str,
        line: int | None,
        expected: str | None = None,
    ) -> Any:
        expected = expected or _kind_text(kind)
        if not isinstance(node, ScalarNode):
            raise self.type_error(node, expected, default, path, line)
        tag = node.tag
        if kind is str:
            if tag == _STR:
                return node.value
            if node.style is None and tag in (_INT, _FLOAT, _TIMESTAMP):
                return node.value  # "17:00", "2024-01-01", "1.0": as written, not as a number
            if node_is_null(node) and default is _NO_DEFAULT:
                hint = "Give a value (an unquoted # starts a comment), or remove the item."
            elif node_is_null(node):
                hint = (
                    f"Give a value (an unquoted # starts a comment), or remove the key to use "
                    f"the default ({_inline(default)})."
                )
            else:
                hint = f'Quote it to mean the text: {_leaf(path)}: "{node.value}"'
            raise self.type_error(node, expected, default, path, line, hint=hint)
        accepted = {bool: (_BOOL,), int: (_INT,), float: (_INT, _FLOAT)}[kind]
        if tag not in accepted:
            raise self.type_error(node, expected, default, path, line)
        value = SafeConstructor().construct_object(node)
        if kind is float:
            value = float(value)
            if not math.isfinite(value):
                raise self.fail(
                    f"must be a finite number, got {node.value}",
                    key=path,
                    line=_line(node),
                    hint="Use an ordinary number such as 0.5.",
                )
        return value

    # -- rules and cross-references

    def apply_rules(
        self, rules: tuple[Rule, ...], value: Any, node: Node, path: str, line: int
    ) -> None:
        if value is None:
            return
        for rule in rules:
            if not rule.per_item:
                if problem := rule.problem(value):
                    raise self.fail(problem, key=path, line=_value_line(node, line), hint=rule.hint)
                continue
            for item_path, item, item_node in _written_items(value, node, path):
                if item is not None and (problem := rule.problem(item)):
                    raise self.fail(problem, key=item_path, line=_line(item_node), hint=rule.hint)

    def check_cross_references(self, config: Config) -> None:
        """Values that must agree with each other, checked once everything is read."""
        located = []
        for path, obj in _sections(config, ""):
            for problem in obj.problems() if hasattr(obj, "problems") else ():
                keys = [_join(path, key) for key in (problem.key, *problem.related)]
                line = next((self.lines[key] for key in keys if key in self.lines), None)
                located.append((line or self.line_of(keys[0]), keys[0], problem))
        if located:
            line, key, problem = min(located, key=lambda entry: entry[0] or 0)
            raise self.fail(problem.message, key=key, line=line, hint=problem.hint)

    def line_of(self, key: str) -> int | None:
        """The line of ``key`` or of its nearest ancestor the file wrote (defaults have none)."""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    # -- errors

    def key_name(self, key_node: Node, path: str) -> str:
        if key_node.tag == _MERGE:
            raise self.fail(
                "YAML merge keys (<<) are not supported in maintbot.yml",
                key=path,
                line=_line(key_node),
                hint="Write the keys out in full.",
            )
        if not isinstance(key_node, ScalarNode):
            raise self.fail(
                f"a key must be a plain name, got {_describe(key_node)}",
                key=path,
                line=_line(key_node),
                hint="Use a name such as enabled: as the key.",
            )
        return key_node.value  # raw text: "on:" is the key "on", not the boolean true

    def duplicate_key(self, full: str, line: int) -> ConfigError:
        first = self.lines.get(full)
        return self.fail(
            f"this key appears twice (first on line {first})",
            key=full,
            line=line,
            hint="Keep one of them; YAML would silently use only the last.",
        )

    def unknown_key(self, name: str, cls: type, path: str, line: int) -> ConfigError:
        allowed = _field_names(cls)
        where = f"in {path}" if path else "at the top level"
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        elsewhere = [p for p in _all_key_paths(Config) if p.rsplit(".", 1)[-1] == name]
        if close:
            hint = f"Did you mean {_join(path, close[0])!r}?"
        elif elsewhere:
            hint = f"{name!r} belongs under {elsewhere[0].rsplit('.', 1)[0]}: move it there."
        else:
            hint = "Remove it, or check docs/configuration.md for the keys maintbot reads."
        return self.fail(
            f"unknown key {name!r} {where}; allowed keys: {', '.join(allowed)}",
            key=_join(path, name),
            line=line,
            hint=hint,
        )

    def type_error(
        self,
        node: Node,
        expected: str,
        default: Any,
        path: str,
        line: int | None,
        hint: str | None = None,
    ) -> ConfigError:
        if hint is None and default is _NO_DEFAULT:
            hint = f"Write {expected}."
        elif hint is None:
            hint = f"Write {expected}, or remove the key to use the default ({_inline(default)})."
        return self.fail(
            f"expected {expected}, got {_describe(node)}",
            key=path,
            line=_value_line(node, line),
            hint=hint,
        )


# ------------------------------------------------------------------------------------- helpers


def node_is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _value_line(node: Node, key_line: int | None) -> int | None:
    """A scalar is reported where it is written; a list or mapping where its key is."""
    return _line(node) if isinstance(node, ScalarNode) or key_line is None else key_line


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _written_items(value: Any, node: Node, path: str) -> Iterator[tuple[str, Any, Node]]:
    """The items of a list or mapping value that the file wrote, with their nodes."""
    if isinstance(node, SequenceNode):
        for index, (item, item_node) in enumerate(zip(value, node.value, strict=True)):
            yield f"{path}[{index}]", item, item_node
    elif isinstance(node, MappingNode) and isinstance(value, Mapping):
        for key_node, value_node in node.value:
            if key_node.value in value:
                yield _join(path, key_node.value), value[key_node.value], value_node


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _keys_text(cls: type) -> str:
    return ", ".join(_field_names(cls))


@functools.cache
def _all_key_paths(cls: type, prefix: str = "") -> tuple[str, ...]:
    paths: list[str] = []
    for name, kind in _type_hints(cls).items():
        path = _join(prefix, name)
        paths.append(path)
        if dataclasses.is_dataclass(kind):
            paths.extend(_all_key_paths(kind, path))
    return tuple(paths)


def _sections(obj: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every dataclass inside ``obj`` (itself included) with its key path."""
    if dataclasses.is_dataclass(obj):
        yield path, obj
        for f in dataclasses.fields(obj):
            yield from _sections(getattr(obj, f.name), _join(path, f.name))
    elif isinstance(obj, Mapping):
        for key, item in obj.items():
            yield from _sections(item, _join(path, str(key)))


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def _plural_kind_text(kind: Any) -> str:
    if typing.get_origin(kind) is Literal:
        return "values from: " + ", ".join(str(choice) for choice in typing.get_args(kind))
    return {bool: "true/false values", int: "whole numbers", float: "numbers"}.get(kind, "strings")


def _kind_text(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "a whole number"
    if kind is float:
        return "a number"
    if kind is str:
        return "a string"
    if typing.get_origin(kind) is Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(kind))
    if dataclasses.is_dataclass(kind):
        return "mappings"
    return "values"


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    if not node.tag.startswith("tag:yaml.org,2002:"):
        return f"a value tagged {node.tag} ({shown!r})"
    return {
        _NULL: "nothing (null)",
        _BOOL: f"a boolean ({shown})",
        _INT: f"a whole number ({shown})",
        _FLOAT: f"a number ({shown})",
        _TIMESTAMP: f"a date ({shown})",
    }.get(node.tag, f"a string ({shown!r})")


def _inline(value: Any) -> str:
    """A default as it would be written in the file, on one line."""
    if value is None:
        return "null"
    text = yaml.safe_dump(as_plain_data(value), default_flow_style=True, width=1000)
    return text.removesuffix("\n").removesuffix("\n...").strip()
