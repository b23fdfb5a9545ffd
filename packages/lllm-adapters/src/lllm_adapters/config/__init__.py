"""Project configuration and discovery: finding ``lllm.toml``, importing prompt and proxy
modules, and loading system configs (YAML or TOML) into typed config objects."""

from lllm_adapters.config.discovery import (
    AUTO_DISCOVER_ENV,
    DiscoveryReport,
    auto_discover_enabled,
    discover,
    discover_proxies,
)
from lllm_adapters.config.project import (
    CONFIG_ENV,
    CONFIG_NAMES,
    ProjectConfig,
    find_config,
    load_project,
)
from lllm_adapters.config.project_module import (
    PROJECT_PACKAGE_PREFIX,
    import_project_module,
    project_package_name,
)
from lllm_adapters.config.system import (
    check_prompt_paths,
    load_mcp_servers,
    load_system_config,
    read_config_file,
    system_config_to_data,
)
from lllm_adapters.config.toml_source import TomlConfigSource

__all__ = [
    "AUTO_DISCOVER_ENV",
    "CONFIG_ENV",
    "CONFIG_NAMES",
    "PROJECT_PACKAGE_PREFIX",
    "DiscoveryReport",
    "ProjectConfig",
    "TomlConfigSource",
    "auto_discover_enabled",
    "check_prompt_paths",
    "discover",
    "discover_proxies",
    "find_config",
    "import_project_module",
    "load_mcp_servers",
    "load_project",
    "load_system_config",
    "project_package_name",
    "read_config_file",
    "system_config_to_data",
]
