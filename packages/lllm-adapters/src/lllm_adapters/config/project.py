"""Finding and reading a project's ``lllm.toml``.

Resolution order: an explicit path, then ``$LLLM_CONFIG`` (a file or a folder holding one),
then the current folder and each of its parents. File names tried in a folder: ``lllm.toml``,
``.lllm.toml``, ``LLLM.toml``. Folders listed in the file are relative to the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import define, field
from lllm_domain.errors import ConfigError
from lllm_domain.message import EMPTY_MAPPING

from lllm_adapters.config.source import find_line, parse_toml, read_text, suggest

CONFIG_NAMES = ("lllm.toml", ".lllm.toml", "LLLM.toml")
"""File names looked for in a folder, in order."""
CONFIG_ENV = "LLLM_CONFIG"
"""The environment variable naming a config file or folder."""

_SECTIONS: dict[str, frozenset[str] | None] = {
    "prompts": frozenset({"folders"}),
    "proxies": frozenset({"folders"}),
    "project": None,  # free-form: name, description...
    "models": None,  # model cards to add or override: [models."name"] fields
    "tracing": frozenset({"otel", "capture_content"}),  # OpenTelemetry spans of `lllm run`
    "mcp_servers": None,  # [mcp_servers.NAME]: MCP servers (checked by load_mcp_servers)
}
_BOOLEAN_KEYS = {"tracing": frozenset({"otel", "capture_content"})}


@define(frozen=True, slots=True)
class ProjectConfig:
    """A parsed ``lllm.toml``: where it is and the absolute folders it names."""

    path: Path
    prompt_folders: tuple[Path, ...] = ()
    proxy_folders: tuple[Path, ...] = ()
    data: Mapping[str, Any] = field(default=EMPTY_MAPPING, repr=False)

    @property
    def models(self) -> Mapping[str, Any]:
        """The ``[models]`` table: model cards to add or override (name → card fields)."""
        value = self.data.get("models", {})
        return value if isinstance(value, Mapping) else {}

    @property
    def tracing(self) -> Mapping[str, bool]:
        """The ``[tracing]`` table: ``otel`` (export OpenTelemetry traces of every run) and
        ``capture_content`` (record message contents on the spans, redacted)."""
        value = self.data.get("tracing", {})
        return value if isinstance(value, Mapping) else {}

    @property
    def root(self) -> Path:
        """The folder holding the file (folders are relative to it)."""
        return self.path.parent


def _in_folder(folder: Path) -> Path | None:
    for name in CONFIG_NAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _resolve_given(value: str | os.PathLike[str], origin: str) -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        found = _in_folder(path)
        if found is None:
            raise ConfigError(
                f"{origin} names the folder {path}, which holds none of {', '.join(CONFIG_NAMES)}; "
                "point it at the file or create one there"
            )
        return found.resolve()
    if path.is_file():
        return path.resolve()
    raise ConfigError(f"{origin} names {path}, which does not exist; fix the path")


def find_config(
    explicit: str | os.PathLike[str] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path | None:
    """The ``lllm.toml`` to use, or ``None`` when there is none.

    An explicit path or ``$LLLM_CONFIG`` that names nothing usable is an error (a typo there
    should not silently fall back to another project's file).
    """
    env = os.environ if environ is None else environ
    if explicit is not None:
        return _resolve_given(explicit, "the config path")
    if env.get(CONFIG_ENV):
        return _resolve_given(env[CONFIG_ENV], f"${CONFIG_ENV}")
    start = Path(cwd) if cwd is not None else Path.cwd()
    start = start.resolve()
    for folder in (start, *start.parents):
        found = _in_folder(folder)
        if found is not None:
            return found
    return None


def load_project(path: str | os.PathLike[str]) -> ProjectConfig:
    """Parse ``path`` (an ``lllm.toml``) and check its sections and folders."""
    file = Path(path).resolve()
    text = read_text(file, "the project config")
    data = parse_toml(text, file)
    for section, value in data.items():
        if section not in _SECTIONS:
            raise ConfigError(
                f"unknown section [{section}]{suggest(section, _SECTIONS)}; known sections are "
                f"{', '.join(sorted(_SECTIONS))}",
                file=str(file),
                line=find_line(text, section, toml=True),
            )
        allowed = _SECTIONS[section]
        if allowed is None:
            continue
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"[{section}] must be a table"
                + (" with 'folders = [...]'" if "folders" in allowed else ""),
                file=str(file),
                line=find_line(text, section, toml=True),
            )
        for key in value:
            if key not in allowed:
                raise ConfigError(
                    f"unknown key {key!r} in [{section}]{suggest(key, allowed)}",
                    file=str(file),
                    line=find_line(text, key, toml=True, after=f"[{section}]"),
                )
            if key in _BOOLEAN_KEYS.get(section, ()) and not isinstance(value[key], bool):
                raise ConfigError(
                    f"[{section}] {key} must be true or false, not {value[key]!r}",
                    file=str(file),
                    line=find_line(text, key, toml=True, after=f"[{section}]"),
                )
    return ProjectConfig(
        path=file,
        prompt_folders=_folders(data, "prompts", file, text),
        proxy_folders=_folders(data, "proxies", file, text),
        data=data,
    )


def _folders(data: Mapping[str, Any], section: str, file: Path, text: str) -> tuple[Path, ...]:
    raw = data.get(section, {}).get("folders", [])
    line = find_line(text, "folders", toml=True, after=f"[{section}]")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
        raise ConfigError(
            f"[{section}] folders must be a list of folder paths (strings), not {raw!r}",
            file=str(file),
            line=line,
        )
    folders = []
    for entry in raw:
        folder = (file.parent / entry).resolve()
        if not folder.is_dir():
            raise ConfigError(
                f"[{section}] folder {entry!r} does not exist (looked for {folder}); create it "
                "or fix the path, which is relative to this file",
                file=str(file),
                line=line,
            )
        folders.append(folder)
    return tuple(folders)
