"""Discovery: import every public module under a project's prompt and proxy folders and
register the prompts and proxy classes they define.

Discovery is an explicit call (the composition root makes it); importing LLLM never runs it.
``LLLM_AUTO_DISCOVER=0`` (or ``false``/``no``/``off``) turns it off; manual ``register_prompt``
and ``register_proxy`` always work.

Each folder is imported as its own synthetic package, named after a hash of its absolute path,
so two projects that both have ``prompts/system.py`` never share a module. Modules inside a
folder can import each other relatively (``from .common import x``).

Keys: a prompt whose path has no ``/`` is registered as ``<module>/<path>`` (``<module>`` is the
file's path inside the folder without ``.py``, e.g. ``system`` or ``team/critic``); a path with
a ``/`` is kept. A proxy class is registered under its ``path`` class attribute, or
``<module>/<ClassName>``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from attrs import define, field
from lllm_domain.errors import ConfigError
from lllm_domain.prompt import Prompt
from lllm_domain.proxy import Proxy
from lllm_domain.registry import PromptRegistry, ProxyRegistry, default_prompts, default_proxies

from lllm_adapters.config.project import ProjectConfig, find_config, load_project
from lllm_adapters.config.source import describe_failure, failure_location

AUTO_DISCOVER_ENV = "LLLM_AUTO_DISCOVER"
"""Set to ``0``/``false``/``no``/``off`` to turn discovery off."""

Kind = Literal["prompts", "proxies"]
_SINGULAR = {"prompts": "prompt", "proxies": "proxy"}


def auto_discover_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``LLLM_AUTO_DISCOVER`` allows discovery (it does unless set to a false value)."""
    env = os.environ if environ is None else environ
    return env.get(AUTO_DISCOVER_ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


@define(frozen=True, slots=True)
class DiscoveryReport:
    """What a discovery run did: the file it read, the modules it imported and the keys it
    registered (key → ``file:attribute``)."""

    config_path: Path | None = None
    modules: tuple[str, ...] = ()
    prompts: dict[str, str] = field(factory=dict)
    proxies: dict[str, str] = field(factory=dict)
    skipped: str = ""
    """Why nothing was done (opted out, no config found), or empty."""


def discover(
    config: ProjectConfig | str | os.PathLike[str] | None = None,
    *,
    prompts: PromptRegistry | None = None,
    proxies: ProxyRegistry | None = None,
    kinds: tuple[Kind, ...] = ("prompts", "proxies"),
    enabled: bool | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> DiscoveryReport:
    """Find the project config (see :func:`find_config`), import its prompt and proxy modules
    and register what they define in ``prompts`` / ``proxies`` (the default registries when
    omitted).

    ``enabled=None`` follows ``LLLM_AUTO_DISCOVER``; pass ``True`` to force discovery. Running
    it twice is harmless: modules are imported once and re-registering from the same place is
    not a duplicate.

    Raises :class:`ConfigError` for a module that fails to import (its path, line and the
    original error) and for a key defined in two places (both places).
    """
    if enabled is None:
        enabled = auto_discover_enabled(environ)
    if not enabled:
        return DiscoveryReport(skipped=f"{AUTO_DISCOVER_ENV} turned discovery off")
    if isinstance(config, ProjectConfig):
        project = config
    else:
        found = find_config(config, cwd=cwd, environ=environ)
        if found is None:
            return DiscoveryReport(skipped="no lllm.toml found")
        project = load_project(found)
    prompt_registry = prompts if prompts is not None else default_prompts
    proxy_registry = proxies if proxies is not None else default_proxies
    report = DiscoveryReport(config_path=project.path)
    modules: list[str] = []
    seen: set[int] = set()
    if "prompts" in kinds:
        for folder in project.prompt_folders:
            for module, rel, file in _import_folder(folder, "prompts"):
                modules.append(module.__name__)
                _register_prompts(
                    module,
                    rel=rel,
                    file=file,
                    registry=prompt_registry,
                    report=report.prompts,
                    seen=seen,
                )
    if "proxies" in kinds:
        for folder in project.proxy_folders:
            for module, rel, file in _import_folder(folder, "proxies"):
                modules.append(module.__name__)
                _register_proxies(
                    module, rel=rel, file=file, registry=proxy_registry, report=report.proxies
                )
    return DiscoveryReport(
        config_path=project.path,
        modules=tuple(modules),
        prompts=report.prompts,
        proxies=report.proxies,
    )


def discover_proxies(
    config: ProjectConfig | str | os.PathLike[str], *, registry: ProxyRegistry | None = None
) -> DiscoveryReport:
    """Discover only the proxies of ``config`` (used to rebuild a proxy runtime elsewhere)."""
    return discover(config, proxies=registry, kinds=("proxies",), enabled=True)


def package_name(folder: Path, kind: Kind) -> str:
    """The synthetic package a folder's modules are imported under (unique per folder)."""
    digest = hashlib.sha1(str(folder.resolve()).encode()).hexdigest()[:12]
    return f"_lllm_{kind}_{folder.name.replace('-', '_').replace('.', '_')}_{digest}"


def _public_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if any(part.startswith(("_", ".")) for part in rel.parts):
            continue
        if not all(part.isidentifier() for part in (*rel.parts[:-1], rel.stem)):
            continue
        yield path


def ensure_package(name: str, folder: Path) -> None:
    """Make ``name`` a package whose modules are the files of ``folder`` (running the
    folder's ``__init__.py`` when it has one); nothing when it exists already."""
    if name in sys.modules:
        return
    init = folder / "__init__.py"
    if init.is_file():
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[str(folder)]
        )
        if spec is None or spec.loader is None:  # pragma: no cover - a file we just found
            raise ConfigError(f"cannot import {init}", file=str(init))
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        try:
            spec.loader.exec_module(package)
        except (Exception, SystemExit) as exc:
            del sys.modules[name]
            raise _import_error(exc, init, "package") from None
        return
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(folder)]
    package = types.ModuleType(name)
    package.__spec__ = spec
    package.__path__ = [str(folder)]
    package.__package__ = name
    sys.modules[name] = package


def _import_folder(folder: Path, kind: Kind) -> Iterator[tuple[types.ModuleType, str, Path]]:
    package = package_name(folder, kind)
    ensure_package(package, folder)
    for file in _public_files(folder):
        rel = file.relative_to(folder).with_suffix("")
        dotted = ".".join((package, *rel.parts))
        try:
            module = importlib.import_module(dotted)
        except (Exception, SystemExit) as exc:  # sys.exit() in a module is a fault, not an exit
            sys.modules.pop(dotted, None)
            raise _import_error(exc, file, _SINGULAR[kind]) from None
        yield module, rel.as_posix(), file


def _import_error(exc: BaseException, file: Path, kind: str) -> ConfigError:
    _, line = failure_location(exc, lambda path: path == file)
    return ConfigError(
        f"the {kind} module failed to import: {describe_failure(exc)}; fix the module or "
        "move it out of the discovered folder (files starting with '_' are skipped)",
        file=str(file),
        line=line,
    )


def _register_prompts(
    module: types.ModuleType,
    *,
    rel: str,
    file: Path,
    registry: PromptRegistry,
    report: dict[str, str],
    seen: set[int],
) -> None:
    for attr, value in vars(module).items():
        if not isinstance(value, Prompt) or id(value) in seen:
            continue
        seen.add(id(value))  # a prompt imported by a sibling module is registered once
        key = value.path if "/" in value.path else f"{rel}/{value.path}"
        prompt = value if key == value.path else value.replace(path=key)
        origin = f"{file}:{attr}"
        _check_duplicate(registry, key, prompt, origin, "prompt")
        registry.register(key, prompt, replace=True, origin=origin)
        report[key] = origin


def _register_proxies(
    module: types.ModuleType,
    *,
    rel: str,
    file: Path,
    registry: ProxyRegistry,
    report: dict[str, str],
) -> None:
    registered = {id(cls) for _, cls in registry.items()}
    for attr, value in vars(module).items():
        if not (isinstance(value, type) and issubclass(value, Proxy)) or value is Proxy:
            continue
        if value.__module__ != module.__name__ or id(value) in registered:
            continue  # imported from elsewhere, or registered by the module itself
        key = value.path or f"{rel}/{value.__name__}"
        origin = f"{file}:{attr}"
        _check_duplicate(registry, key, value, origin, "proxy")
        registry.register(key, value, replace=True, origin=origin)
        report[key] = origin


def _check_duplicate(registry: Any, key: str, value: Any, origin: str, kind: str) -> None:
    if key not in registry:
        return
    existing = registry.get(key)
    if existing is value or (not isinstance(value, type) and existing == value):
        return  # the module registered it itself (register_prompt / register_proxy)
    previous = registry.origin(key) or "an earlier manual registration"
    if previous == origin:
        return  # discovery ran again over the same file
    raise ConfigError(
        f"{kind} key {key!r} is defined twice: in {previous} and in {origin}; rename one of "
        "them (or give it a path with a '/' prefix of your choosing)"
    )
