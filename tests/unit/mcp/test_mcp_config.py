"""MCP server declarations: their checks, the [mcp_servers] table of lllm.toml (with ${VAR}
for secrets) and mcp_servers in a system config."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_adapters.config import load_mcp_servers, load_project, load_system_config
from lllm_domain import MCPServerConfig
from lllm_domain.errors import ConfigError


def test_a_server_is_a_command_or_a_url() -> None:
    assert MCPServerConfig(command="srv").transport == "stdio"
    assert MCPServerConfig(url="http://127.0.0.1:1/mcp").transport == "http"
    with pytest.raises(ConfigError, match="exactly one of command"):
        MCPServerConfig()
    with pytest.raises(ConfigError, match="exactly one of command"):
        MCPServerConfig(command="srv", url="http://x")
    with pytest.raises(ConfigError, match="http:// or https://"):
        MCPServerConfig(url="ftp://x")
    with pytest.raises(ConfigError, match="timeout must be a positive"):
        MCPServerConfig(command="srv", timeout=0)


def test_secrets_stay_out_of_the_repr() -> None:
    config = MCPServerConfig(
        url="https://mcp.example/mcp", headers={"Authorization": "Bearer SECRET-123"}
    )
    assert "SECRET-123" not in repr(config)
    assert "SECRET-123" not in repr(MCPServerConfig(command="s", env={"TOKEN": "SECRET-123"}))


def test_lllm_toml_declares_servers_with_environment_secrets(tmp_path: Path) -> None:
    toml = tmp_path / "lllm.toml"
    toml.write_text(
        "[project]\nname = 'p'\n\n"
        "[mcp_servers.files]\ncommand = 'mcp-files'\nargs = ['--root', '.']\ntimeout = 5\n\n"
        "[mcp_servers.docs]\nurl = 'https://mcp.example/mcp'\n"
        "headers = { Authorization = 'Bearer ${DOCS_TOKEN}' }\ntools = ['search']\n",
        "utf-8",
    )
    load_project(toml)  # the section is known to the project loader
    servers = load_mcp_servers(toml, environ={"DOCS_TOKEN": "tok-1"})
    assert servers["files"] == MCPServerConfig(command="mcp-files", args=("--root", "."), timeout=5)
    assert servers["docs"].headers == {"Authorization": "Bearer tok-1"}
    assert servers["docs"].tools == ("search",)


def test_a_bad_declaration_names_the_file_and_key(tmp_path: Path) -> None:
    toml = tmp_path / "lllm.toml"
    toml.write_text("[mcp_servers.files]\ncommand = 'x'\ntimout = 5\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_mcp_servers(toml)
    message = str(caught.value)
    assert "timout" in message and "timeout" in message and "lllm.toml" in message
    toml.write_text("[mcp_servers.files]\nargs = ['x']\n", "utf-8")
    with pytest.raises(ConfigError, match="exactly one of command"):
        load_mcp_servers(toml)


def test_a_system_config_declares_servers_and_agents_name_them(tmp_path: Path) -> None:
    config = tmp_path / "default.yaml"
    config.write_text(
        "name: s\n"
        "mcp_servers:\n"
        "  calc:\n"
        "    command: mcp-calc\n"
        "    connect_timeout: 3\n"
        "agent_configs:\n"
        "  helper:\n"
        "    model_name: gpt-4o-mini\n"
        "    system_prompt_path: sys\n"
        "    mcp_servers: [calc]\n",
        "utf-8",
    )
    loaded = load_system_config(config)
    assert loaded.mcp_servers["calc"] == MCPServerConfig(command="mcp-calc", connect_timeout=3)
    assert loaded.agent_configs["helper"].mcp_servers == ("calc",)
