"""Loading a system's runtime configuration (``config/<name>/default.yaml`` or ``.toml``) into
:class:`lllm_domain.config.SystemConfig`.

Every fault is a :class:`ConfigError` naming the file and line: malformed YAML/TOML, unknown
keys (with the nearest valid key), wrong types, missing environment variables. String values
may use ``${VAR}``, ``${VAR:-default}`` (the default when VAR is unset or empty, as in the shell)
or ``${VAR-default}`` (only when unset); ``$${`` writes a literal ``${``. A value made from
environment variables is converted to its field's type (``random_seed: ${SEED:-42}`` is the
integer 42). Secrets themselves should stay in the environment
and be read by the adapters that need them, and :func:`system_config_to_data` never writes a
secret-looking environment value back out.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import attrs
from lllm_domain.config import MCPServerConfig, SystemConfig, as_date
from lllm_domain.errors import ConfigError
from lllm_domain.registry import PromptRegistry

from lllm_adapters.config.original_form import from_original_form
from lllm_adapters.config.source import (
    KeyPath,
    parse_toml,
    read_text,
    suggest,
    toml_lines,
)

_ENV_REF = re.compile(
    r"(?P<escape>\$\$\{)|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
)
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class _FromEnv(str):
    """A string value that ``${...}`` interpolation produced; remembers the variables so a
    non-string field can convert it and an error can say where it came from."""

    names: tuple[str, ...]

    def __new__(cls, value: str, names: tuple[str, ...]) -> _FromEnv:
        self = super().__new__(cls, value)
        self.names = names
        return self

    def origin(self) -> str:
        """``from ${A}`` / ``from ${A}, ${B}`` for error messages."""
        return "from " + ", ".join("${" + name + "}" for name in self.names)


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|DSN", re.IGNORECASE)


class _Located:
    """The file being loaded and where its keys are, for error messages."""

    def __init__(self, file: Path, lines: dict[KeyPath, int]) -> None:
        self.file = file
        self.lines = lines

    def error(self, message: str, path: KeyPath) -> ConfigError:
        line = None
        for n in range(len(path), 0, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                break
        where = ".".join(path)
        return ConfigError(
            f"{where}: {message}" if where else message, file=str(self.file), line=line
        )


def read_config_file(path: str | os.PathLike[str]) -> tuple[Any, dict[KeyPath, int]]:
    """Parse a YAML or TOML file; return the data and the line of every key.

    Hostile input (alias bombs, deep nesting, bytes that are not UTF-8, integers longer than
    Python reads, impossible dates, duplicate YAML keys) is a :class:`ConfigError` naming the
    file and line; see :mod:`lllm_adapters.config.source`.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml"):
        raise ConfigError(
            f"unsupported config format {suffix or '(no suffix)'!r}; use .yaml, .yml or .toml",
            file=str(file),
        )
    text = read_text(file, "config file")
    if suffix == ".toml":
        data = parse_toml(text, file)
        return data, toml_lines(text)
    from lllm_adapters.config.yaml_source import parse_yaml  # the `yaml` extra

    return parse_yaml(text, file)


def load_system_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> SystemConfig:
    """Read ``path`` (YAML or TOML) into a :class:`SystemConfig`."""
    file = Path(path)
    data, lines = read_config_file(file)
    where = _Located(file, lines)
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise where.error(f"the file must hold a mapping of settings, not {_kind(data)}", ())
    env = os.environ if environ is None else environ
    data = _interpolate(data, env, where, (), _Budget())
    data = from_original_form(data, where.lines, where.error)
    config: SystemConfig = _build(SystemConfig, data, where, ())
    return config


def load_mcp_servers(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> dict[str, MCPServerConfig]:
    """The ``[mcp_servers]`` table of a project file (``lllm.toml``): MCP servers by name, with
    ``${VAR}`` taken from the environment (for header values such as tokens)."""
    file = Path(path)
    data, lines = read_config_file(file)
    where = _Located(file, lines)
    table = data.get("mcp_servers", {}) if isinstance(data, Mapping) else {}
    if not isinstance(table, Mapping):
        raise where.error("[mcp_servers] must be a table of [mcp_servers.NAME] tables", ())
    env = os.environ if environ is None else environ
    table = _interpolate(table, env, where, ("mcp_servers",), _Budget())
    servers: dict[str, MCPServerConfig] = {}
    for name, entry in table.items():
        key = ("mcp_servers", str(name))
        if not isinstance(entry, Mapping):
            raise where.error(
                f"[mcp_servers.{name}] must be a table (command = ... or url = ...), not "
                f"{_kind(entry)}",
                key,
            )
        servers[str(name)] = _build(MCPServerConfig, entry, where, key)
    return servers


MAX_INTERPOLATED_CHARS = 1_000_000
"""How many characters the values made by ``${VAR}`` interpolation may hold in all."""


class _Budget:
    """What is left of :data:`MAX_INTERPOLATED_CHARS` while one file is interpolated."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_INTERPOLATED_CHARS


def _interpolate(
    value: Any, env: Mapping[str, str], where: _Located, path: KeyPath, budget: _Budget
) -> Any:
    if isinstance(value, str):
        names: list[str] = []

        def replace(match: re.Match[str]) -> str:
            if match.group("escape"):
                return "${"
            name, op, default = match.group("name"), match.group("op"), match.group("default")
            names.append(name)
            current = env.get(name)
            # Shell semantics: ${VAR:-d} also replaces an empty value, ${VAR-d} only an unset one.
            if current is not None and (current != "" or op != ":-"):
                return current
            if op is not None:
                return str(default)
            raise where.error(
                f"environment variable {name} is not set; set it or write ${{{name}:-default}}",
                path,
            )

        result = _ENV_REF.sub(replace, value)
        if not names:
            return result
        budget.left -= len(result)
        if budget.left < 0:
            raise where.error(
                f"the values made from environment variables exceed {MAX_INTERPOLATED_CHARS:,} "
                f"characters in all (here: {', '.join(sorted(set(names)))}); check what these "
                "variables hold, or read large data from a file in your system's code",
                path,
            )
        return _FromEnv(result, tuple(names))
    if isinstance(value, Mapping):
        return {k: _interpolate(v, env, where, (*path, str(k)), budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, where, path, budget) for v in value]
    return value


def _plain(value: Any) -> Any:
    """``value`` with interpolated strings turned back into plain ``str`` (for untyped fields)."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _from_env(value: _FromEnv, tp: Any) -> Any:
    """An interpolated string read as ``tp`` (int, float or bool); ``None`` when it is not."""
    text = value.strip()
    if tp is bool:
        lowered = text.lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else None
    try:
        return int(text) if tp is int else float(text)
    except ValueError:
        return None


def _build(cls: type[Any], data: Mapping[str, Any], where: _Located, path: KeyPath) -> Any:
    fields = {a.name: a for a in attrs.fields(cls) if a.init}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            raise where.error(
                f"unknown key {key!r}{suggest(str(key), fields)}; valid keys are "
                f"{', '.join(fields)}",
                (*path, str(key)),
            )
    missing = [
        name for name, a in fields.items() if a.default is attrs.NOTHING and name not in data
    ]
    if missing:
        raise where.error(f"missing required key(s) {', '.join(map(repr, missing))}", path)
    values = {key: _convert(value, hints[key], where, (*path, key)) for key, value in data.items()}
    try:
        return cls(**values)
    except ConfigError as exc:
        raise where.error(str(exc), path) from None
    except (TypeError, ValueError) as exc:
        raise where.error(f"invalid settings: {exc}", path) from None


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return " or ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is tuple:
        return f"a list of {_describe(args[0])}" if args else "a list"
    if origin in (Mapping, dict) or tp is Mapping:
        if args and attrs.has(args[1]):
            return f"a mapping of names to {args[1].__name__} settings"
        return "a mapping"
    if tp is dt.date:
        return "a date (YYYY-MM-DD)"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _kind(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "a list",
        dict: "a mapping",
        type(None): "null",
    }.get(str if isinstance(value, str) else type(value), type(value).__name__) + f" ({value!r})"


def _convert(value: Any, tp: Any, where: _Located, path: KeyPath) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def wrong() -> ConfigError:
        origin = f" {value.origin()}" if isinstance(value, _FromEnv) else ""
        return where.error(f"expected {_describe(tp)}, got {_kind(value)}{origin}", path)

    if tp is Any:
        return _plain(value)
    if isinstance(value, _FromEnv) and tp in (int, float, bool):
        converted = _from_env(value, tp)
        if converted is None:
            raise wrong()
        return converted
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where, path)
            except ConfigError:
                continue
        raise wrong()
    if origin is Literal:
        if value in args:
            return next(a for a in args if a == value)  # the Literal's own (plain) value
        raise where.error(
            f"expected {_describe(tp)}, got {value!r}{suggest(str(value), map(str, args))}", path
        )
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong()
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong()
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise wrong()
    if tp is str:
        if isinstance(value, str):
            return str(value)
        raise wrong()
    if tp is dt.date:
        date = as_date(value)
        if date is None:
            raise wrong()
        return date
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise wrong()
        return tuple(_convert(v, args[0], where, path) for v in value)
    if attrs.has(tp):
        # A nested settings table (budget, retry): its keys are checked like the top level's.
        if not isinstance(value, Mapping):
            raise where.error(
                f"expected {tp.__name__} settings (a mapping), got {_kind(value)}", path
            )
        return _build(tp, value, where, path)
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise wrong()
        item_tp = args[1] if args else Any
        if attrs.has(item_tp):
            result = {}
            for name, item in value.items():
                if not isinstance(item, Mapping):
                    raise where.error(
                        f"expected {item_tp.__name__} settings (a mapping), got {_kind(item)}",
                        (*path, str(name)),
                    )
                result[str(name)] = _build(item_tp, item, where, (*path, str(name)))
            return result
        return {str(k): _convert(v, item_tp, where, (*path, str(k))) for k, v in value.items()}
    return value


def check_prompt_paths(
    config: SystemConfig, prompts: PromptRegistry, *, file: str | os.PathLike[str] | None = None
) -> None:
    """Raise :class:`ConfigError` when an agent's ``system_prompt_path`` names no registered
    prompt, listing the closest registered paths."""
    lines: dict[KeyPath, int] = {}
    if file is not None and Path(file).suffix.lower() in (".yaml", ".yml"):
        from lllm_adapters.config.yaml_source import yaml_lines  # the `yaml` extra

        lines = yaml_lines(Path(file).read_text(encoding="utf-8"))
    for name, agent in config.agent_configs.items():
        root = agent.system_prompt_path.partition("::")[0]
        if root in prompts:
            continue
        close = difflib.get_close_matches(root, prompts.keys(), n=3, cutoff=0.4)
        hint = (
            f"closest registered paths: {', '.join(map(repr, close))}"
            if close
            else f"registered prompts: {', '.join(prompts.keys()) or 'none (did discovery run?)'}"
        )
        key = ("agent_configs", name, "system_prompt_path")
        raise ConfigError(
            f"agent_configs.{name}.system_prompt_path {agent.system_prompt_path!r} names no "
            f"registered prompt; {hint}",
            file=None if file is None else str(file),
            line=lines.get(key),
        )


def system_config_to_data(
    config: SystemConfig, *, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Plain data of ``config`` (dates as ISO strings), with any value equal to a
    secret-looking environment variable (``*KEY*``, ``*TOKEN*``, ``*SECRET*``...) written as
    ``${NAME}`` instead, so saving a config never writes a secret."""
    env = os.environ if environ is None else environ
    secrets = {v: k for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 4}

    def plain(value: Any) -> Any:
        if attrs.has(type(value)):
            return {a.name: plain(getattr(value, a.name)) for a in attrs.fields(type(value))}
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, str) and value in secrets:
            return "${" + secrets[value] + "}"
        return value

    result: dict[str, Any] = plain(config)
    return result
