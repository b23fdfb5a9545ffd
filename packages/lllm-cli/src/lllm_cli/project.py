"""The project a command works on: its ``lllm.toml``, discovered prompts and proxies, its system
module and system config."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from attrs import define, field
from lllm_domain.config import SystemConfig
from lllm_domain.errors import ConfigError
from lllm_domain.registry import PromptRegistry, ProxyRegistry

from lllm_cli.errors import CommandError


@define(slots=True)
class Project:
    """A discovered project: where it is, what its ``[project]`` table says, and the prompts
    and proxies discovery registered (in registries of its own)."""

    root: Path
    config_file: Path
    settings: Mapping[str, Any]
    models: Mapping[str, Any] = field(factory=dict)
    """The ``[models]`` table of ``lllm.toml``: model cards to add or override."""
    tracing: Mapping[str, bool] = field(factory=dict)
    """The ``[tracing]`` table of ``lllm.toml`` (``otel``, ``capture_content``)."""
    prompts: PromptRegistry = field(factory=PromptRegistry)
    proxies: ProxyRegistry = field(factory=ProxyRegistry)
    prompt_origins: Mapping[str, str] = field(factory=dict)
    proxy_origins: Mapping[str, str] = field(factory=dict)

    @property
    def name(self) -> str:
        """The project name (``[project] name``, else the folder name)."""
        return str(self.settings.get("name") or self.root.name)

    def system_config_path(self, explicit: Path | None = None) -> Path:
        """The system config to use: ``explicit``, ``[project] config``, or the only
        ``config/*/default.yaml``."""
        if explicit is not None:
            path = explicit if explicit.is_absolute() else Path.cwd() / explicit
            if not path.is_file():
                raise CommandError(f"--config {str(explicit)!r} does not exist; fix the path")
            return path
        named = self.settings.get("config")
        if isinstance(named, str):
            path = self.root / named
            if not path.is_file():
                raise ConfigError(
                    f"[project] config names {named!r}, which does not exist (looked for "
                    f"{path}); fix it or pass --config",
                    file=str(self.config_file),
                )
            return path
        found = sorted(self.root.glob("config/*/default.yaml"))
        if len(found) == 1:
            return found[0]
        raise CommandError(
            f"cannot tell which system config to use in {self.root} (found {len(found)} "
            "config/*/default.yaml); set [project] config in lllm.toml or pass --config"
        )

    def load_system_config(self, explicit: Path | None = None) -> SystemConfig:
        """Read the system config (YAML or TOML) into a :class:`SystemConfig`, with the MCP
        servers of ``lllm.toml`` added under its own ``mcp_servers``."""
        from lllm_adapters.config import check_prompt_paths, load_mcp_servers, load_system_config

        path = self.system_config_path(explicit)
        config = load_system_config(path)
        check_prompt_paths(config, self.prompts, file=path)
        project_servers = load_mcp_servers(self.config_file)
        if project_servers:
            import attrs

            servers = {**project_servers, **config.mcp_servers}
            config = attrs.evolve(config, mcp_servers=servers)
        return config

    def system_config_error(
        self, key: str, message: str, explicit: Path | None = None
    ) -> ConfigError:
        """A :class:`ConfigError` pointing at the line of top-level ``key`` in the system
        config (the file :meth:`system_config_path` picks)."""
        from lllm_adapters.config.source import find_line

        path = self.system_config_path(explicit)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
        toml = path.suffix == ".toml"
        line = None
        if text and key == "system_type":
            # A config in the original's form names the type with agent_type (its
            # system_type, if any, then names the original's outer runner).
            line = find_line(text, "agent_type", toml=toml)
        if text and line is None:
            line = find_line(text, key, toml=toml)
        return ConfigError(message, file=str(path), line=line)

    def _setting_error(self, key: str, message: str) -> ConfigError:
        from lllm_adapters.config.source import find_line

        try:
            text = self.config_file.read_text(encoding="utf-8")
        except OSError:
            text = ""
        line = find_line(text, key, toml=True, after="[project]") if text else None
        return ConfigError(message, file=str(self.config_file), line=line)

    def _import(self, key: str, module: str) -> ModuleType:
        """Import a module of this project without sharing it with any other project (see
        :func:`lllm_adapters.config.import_project_module`)."""
        from lllm_adapters.config import import_project_module

        try:
            return import_project_module(self.root, module, what=f"[project] {key}")
        except ConfigError as exc:
            if exc.file is None:
                # No project file is at fault but the setting itself: point at its line.
                raise self._setting_error(key, str(exc)) from None
            raise

    def import_system_module(self) -> None:
        """Import ``[project] system_module`` so its System subclasses register themselves."""
        module = self.settings.get("system_module")
        if not module:
            return
        if not isinstance(module, str):
            raise self._setting_error(
                "system_module",
                "[project] system_module must be a module name such as 'system.system'",
            )
        from lllm_adapters.config import PROJECT_PACKAGE_PREFIX, project_package_name
        from lllm_domain.registry import default_systems

        # One command works on one project: system types another project registered earlier
        # in this process (a test running several projects) must not clash with this one's.
        own = project_package_name(self.root) + "."
        for name in list(default_systems):  # a copy: entries are removed on the way
            origin = default_systems.origin(name) or ""
            if origin.startswith(PROJECT_PACKAGE_PREFIX) and not origin.startswith(own):
                default_systems.unregister(name)
        self._import("system_module", module)

    def hook(self, key: str) -> Any:
        """The object ``[project] <key> = "module:attribute"`` names, or ``None``."""
        ref = self.settings.get(key)
        if not ref:
            return None
        module_name, _, attribute = str(ref).partition(":")
        if not attribute:
            raise self._setting_error(
                key, f"[project] {key} must look like 'module:function', not {ref!r}"
            )
        module = self._import(key, module_name)
        try:
            return getattr(module, attribute)
        except AttributeError:
            raise self._setting_error(
                key,
                f"[project] {key} = {ref!r} cannot be loaded: the module {module_name!r} has no "
                f"attribute {attribute!r}",
            ) from None


def open_project(project_dir: Path | None = None) -> Project:
    """Find ``lllm.toml`` (in ``project_dir``, else ``$LLLM_CONFIG``, else the current folder
    and its parents), read it and discover its prompts and proxies."""
    from lllm_adapters.config import discover, find_config, load_project

    if project_dir is not None and not project_dir.exists():
        raise CommandError(f"--project {str(project_dir)!r} does not exist; fix the path")
    found = find_config(project_dir)
    if found is None:
        where = project_dir or Path.cwd()
        raise CommandError(
            f"no lllm.toml in {where} or its parents; run this inside a project (create one "
            "with `lllm create --name my_agent`) or pass --project DIR"
        )
    loaded = load_project(found)
    raw = loaded.data.get("project", {})
    settings: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    project = Project(
        loaded.root, loaded.path, settings, models=loaded.models, tracing=loaded.tracing
    )
    report = discover(loaded, prompts=project.prompts, proxies=project.proxies)
    project.prompt_origins = dict(report.prompts)
    project.proxy_origins = dict(report.proxies)
    return project
