"""The :class:`lllm_domain.ports.ConfigSource` adapter over ``lllm.toml``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from lllm_domain.errors import ConfigError
from lllm_domain.registry import PromptRegistry, ProxyRegistry

from lllm_adapters.config.discovery import DiscoveryReport, discover
from lllm_adapters.config.project import find_config, load_project


class TomlConfigSource:
    """Finds and loads ``lllm.toml`` and runs discovery into the given registries."""

    def __init__(
        self,
        *,
        prompts: PromptRegistry | None = None,
        proxies: ProxyRegistry | None = None,
        environ: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.prompts = prompts
        self.proxies = proxies
        self.environ = environ
        self.cwd = cwd
        self._explicit: str | None = None

    def load(self, explicit: str | None = None) -> Mapping[str, Any]:
        """The project configuration as plain data (raises ConfigError when none is found)."""
        found = find_config(explicit, cwd=self.cwd, environ=self.environ)
        if found is None:
            raise ConfigError(
                "no lllm.toml found in the current folder or its parents; create one or set "
                "$LLLM_CONFIG"
            )
        self._explicit = str(found)
        return dict(load_project(found).data)

    def discover(self) -> DiscoveryReport:
        """Import the project's prompt and proxy modules and register what they define."""
        return discover(
            self._explicit,
            prompts=self.prompts,
            proxies=self.proxies,
            environ=self.environ,
            cwd=self.cwd,
        )
