"""`lllm run` with an MCP server declared in lllm.toml and given to an agent by its system config:
the agent's model is offered the server's tools and its tool call reaches the real server."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.support.cli_runner import lllm
from tests.support.mcp_servers import ROOT

pytestmark = pytest.mark.slow

SCRIPTED = """
from lllm_domain import Role
from lllm_domain.testing import call, tool_calls


def scripted_reply(request):
    last = request.messages[-1]
    if last.role is Role.TOOL:
        return f"<answer>{last.content}</answer>"
    offered = sorted(f.name for f in request.tools)
    if "add" not in offered:
        return f"<answer>no add tool; offered: {offered}</answer>"
    return tool_calls(call("add", a=20, b=22))
"""


def test_lllm_run_offers_a_declared_mcp_servers_tools(tmp_path: Path) -> None:
    created = lllm("create", "demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "demo"
    (project / "mcp_scripted.py").write_text(SCRIPTED, "utf-8")
    toml = project / "lllm.toml"
    text = toml.read_text("utf-8").replace('"scripted:', '"mcp_scripted:')
    toml.write_text(
        text
        + "\n[mcp_servers.calc]\n"
        + f"command = {json.dumps(sys.executable)}\n"
        + 'args = ["-m", "tests.support.mcp_servers", "good"]\n'
        + f"cwd = {json.dumps(str(ROOT))}\n",
        "utf-8",
    )
    config = project / "config" / "demo" / "default.yaml"
    yaml = config.read_text("utf-8")
    marker = "    max_completion_tokens: 800\n"
    assert marker in yaml
    config.write_text(yaml.replace(marker, marker + "    mcp_servers: [calc]\n"), "utf-8")

    run = lllm("run", "What is 20 + 22?", "--model", "scripted", cwd=project)

    assert run.returncode == 0, run.stdout + run.stderr
    result = run.stdout.split("result:\n", 1)[1].split("\ncost:", 1)[0]
    assert "42" in result
    assert "add" in result
