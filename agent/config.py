"""Typed run configurations: command-line options from a dataclass (help from each field's docstring), and the
``config.toml`` every run writes and can be started from again.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import itertools
import tomllib
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from capture.errors import PixelpilotError


class ConfigError(PixelpilotError):
    """A configuration value or file that cannot be used."""


def check_fields(obj: object, checks: dict[str, bool]) -> None:
    """Raise a ConfigError naming the first field whose check failed, as its option spells it."""
    for name, ok in checks.items():
        if not ok:
            raise ConfigError(f"{name.replace('_', '-')}: invalid value {getattr(obj, name)!r}")


def field_docs(cls: type) -> dict[str, str]:
    """Each field's docstring (the string literal right under it), as CleanRL's ``Args`` documents fields; fields
    a dataclass inherits are documented where they are declared."""
    return dict(_field_docs(cls))


@functools.cache
def _field_docs(cls: type) -> dict[str, str]:
    """:func:`field_docs`, read once per class: parsing a class's source takes tens of milliseconds, and the panel
    builds an option parser on its GUI thread each time a run starts."""
    docs = {}
    for klass in reversed([k for k in cls.__mro__ if dataclasses.is_dataclass(k)]):
        tree = ast.parse(inspect.getsource(klass))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def _base_type(annotation: Any) -> tuple[type, bool]:
    """(the scalar type, whether None is allowed) of a field annotation such as ``float | None``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0], True
    return annotation, False


def _parse_value(text: str) -> Any:
    """A KEY=VALUE value: a TOML literal (number, boolean, quoted string), else the plain text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def defaults(cls: type) -> dict[str, Any]:
    """Each field's default value (a fresh one where the field has a default factory)."""
    return {f.name: _default(f) for f in dataclasses.fields(cls)}


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def add_arguments(
    parser: argparse.ArgumentParser, cls: type | Sequence[type], aliases: dict[str, str] | None = None
) -> None:
    """One ``--kebab-case`` option per dataclass field (plus ``aliases``), typed, with its docstring as help. With
    several dataclasses (learners' options), a field they share is one option, its defaults listed per class."""
    classes = [cls] if isinstance(cls, type) else list(cls)
    fields: dict[str, list[tuple[type, dataclasses.Field[Any]]]] = {}
    for klass in classes:
        for f in dataclasses.fields(klass):
            fields.setdefault(f.name, []).append((klass, f))
    docs = {klass: field_docs(klass) for klass in classes}
    for name, owners in fields.items():
        klass, f = owners[0]
        hints = typing.get_type_hints(klass)
        flags = ["--" + f.name.replace("_", "-"), *([aliases[f.name]] if aliases and f.name in aliases else [])]
        kind, _ = _base_type(hints[f.name])
        default = _default(f)
        shown = {repr(_default(g)) for _, g in owners}
        if len(shown) > 1 or len(owners) < len(classes):
            default_text = "; ".join(f"{_label(k)}: {_default(g)!r}" for k, g in owners)
        else:
            default_text = repr(default)
        help_text = f"{docs[klass].get(name, '')} (default: {default_text})"
        if kind is bool:
            parser.add_argument(
                *flags, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif typing.get_origin(kind) is dict or kind is dict:
            parser.add_argument(
                *flags,
                dest=f.name,
                action="append",
                default=None,
                metavar="KEY=VALUE",
                help=help_text + "; repeat for more",
            )
        elif typing.get_origin(kind) is list:
            (item,) = typing.get_args(kind)
            parser.add_argument(
                *flags,
                dest=f.name,
                action="append",
                type=item,
                default=None,
                metavar=item.__name__.upper(),
                help=help_text + "; repeat for more",
            )
        else:
            parser.add_argument(
                *flags, dest=f.name, type=kind, default=None, metavar=kind.__name__.upper(), help=help_text
            )


def _label(cls: type) -> str:
    """How a help text names a dataclass of options: its ``label`` (a learner's name), else its class name."""
    return str(getattr(cls, "label", "") or cls.__name__)


def from_arguments(cls: type, namespace: argparse.Namespace, base: Any = None) -> Any:
    """The dataclass from parsed options; options left out keep ``base``'s values (or the defaults), and
    KEY=VALUE options add to or change ``base``'s table."""
    values = dataclasses.asdict(base) if base is not None else {}
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        given = getattr(namespace, f.name, None)
        if given is None:
            continue
        kind, _ = _base_type(hints[f.name])
        if typing.get_origin(kind) is dict or kind is dict:
            pairs = {}
            for item in given:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise ConfigError(f"--{f.name.replace('_', '-')}: expected KEY=VALUE, got {item!r}")
                pairs[key] = _parse_value(value)
            given = {**(values.get(f.name) or {}), **pairs}  # added to the base's table, not instead of it
        values[f.name] = given
    return cls(**values)


def from_texts(cls: type, texts: dict[str, str | list[str]], base: Any = None) -> Any:
    """The dataclass from option values as text (a form's fields, by field name; a list for a repeated option;
    true or false for a switch), parsed as :func:`add_arguments`' command line parses them; empty ones keep
    ``base``'s values (or the defaults)."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_arguments(parser, cls)
    switches = {name for name, value in defaults(cls).items() if isinstance(value, bool)}
    argv = []
    for name, value in texts.items():
        flag = name.replace("_", "-")
        for text in [value] if isinstance(value, str) else value:
            if name in switches and text.strip() in ("true", "false"):  # a check box's state: the flag or its no-
                argv.append(f"--{flag}" if text.strip() == "true" else f"--no-{flag}")
            elif text.strip():
                argv.append(f"--{flag}={text.strip()}")  # "=": a value may start with "-"
    try:
        namespace = parser.parse_args(argv)
    except argparse.ArgumentError as exc:
        raise ConfigError(str(exc)) from None
    return from_arguments(cls, namespace, base)


def to_arguments(obj: Any) -> list[str]:
    """The options that :func:`add_arguments`' parser turns back into ``obj``: one per field that differs from
    its default (what a run's exact command line needs)."""
    options: list[str] = []
    for f in dataclasses.fields(obj):
        default = _default(f)
        value, flag = getattr(obj, f.name), "--" + f.name.replace("_", "-")
        if value == default:
            continue
        if isinstance(value, bool):
            options.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, dict):
            options += itertools.chain.from_iterable((flag, f"{k}={v}") for k, v in value.items())
        elif isinstance(value, list):
            options += itertools.chain.from_iterable((flag, str(v)) for v in value)
        else:
            options += [flag, str(value)]
    return options


def to_toml(values: dict[str, Any]) -> str:
    """A flat dataclass as TOML: None values are left out (they mean "the default")."""
    import tomli_w

    try:
        return tomli_w.dumps({key: value for key, value in values.items() if value is not None})
    except TypeError as exc:
        raise ConfigError(f"cannot write to TOML: {exc}") from None


def load_toml(cls: type, path: Path) -> Any:
    """A dataclass from a ``config.toml``; unknown keys and bad values are errors naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key; expected one of {', '.join(sorted(names))}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
