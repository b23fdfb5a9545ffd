"""`lllm mcp serve`: the project's activated proxies (and, when asked, a sandbox's
``run_python``) as MCP tools, over stdio or streamable HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import attrs
from cyclopts import Parameter

from lllm_cli.commands.options import ProjectOption, ProxyOption
from lllm_cli.errors import CommandError

if TYPE_CHECKING:
    from lllm_domain.config import SystemConfig
    from lllm_domain.function import Function


def serve(
    *,
    project: ProjectOption = None,
    config: Annotated[Path | None, Parameter(name=["--config", "-c"])] = None,
    proxy: ProxyOption = (),
    sandbox: bool = False,
    sandbox_dir: Path | None = None,
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    path: str = "/mcp",
) -> int:
    """Serve the project's activated proxies as MCP tools (their schemas and docs; the system
    config's cutoff date is enforced on every call) and, with --sandbox, ``run_python``.

    Parameters
    ----------
    config
        The system config whose activate_proxies, cutoff_date and deploy_mode to use.
    proxy
        Serve these proxy paths instead of the config's activate_proxies.
    sandbox
        Also serve ``run_python``: Python in a Jupyter kernel of this project (its state
        persists between calls, its notebook is kept).
    sandbox_dir
        Where the sandbox's notebooks go (default: the project's ``mcp-sandboxes`` folder).
    transport
        ``stdio`` (for a client that starts this command) or ``http`` (streamable HTTP).
    host
        The HTTP interface to listen on (keep 127.0.0.1 unless you add authentication).
    port
        The HTTP port.
    path
        The HTTP endpoint's path.
    """
    from lllm_adapters.mcp.server import build_server
    from lllm_adapters.mcp.server import serve as serve_over
    from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings

    from lllm_cli.composition import configure_cli_logging
    from lllm_cli.project import open_project

    configure_cli_logging()
    opened = open_project(project)
    system_config = opened.load_system_config(config)
    unknown = [n for n in proxy if n not in opened.proxies]
    if unknown:
        raise CommandError(
            f"no proxy registered as {', '.join(map(repr, unknown))}; registered: "
            f"{', '.join(opened.proxies.keys()) or 'none'}"
        )
    if proxy:
        system_config = attrs.evolve(system_config, activate_proxies=tuple(proxy))
    settings = ProxySettings.from_system_config(system_config)
    with contextlib.ExitStack() as stack:
        runtime = stack.enter_context(HttpProxyRuntime(settings, registry=opened.proxies))
        functions = list(runtime.functions())
        if sandbox:
            functions.append(_sandbox_tool(stack, opened.root, sandbox_dir, system_config))
        if not functions:
            raise CommandError(
                "nothing to serve: no proxy is activated (set activate_proxies in the system "
                "config or pass --proxy PATH) and --sandbox was not given"
            )
        cutoff = system_config.cutoff_date
        server = build_server(
            functions,
            name=f"lllm-{system_config.name}",
            instructions=(
                f"Tools of the LLLM project {opened.root.name!r}."
                + (f" Data is limited to before {cutoff.isoformat()}." if cutoff else "")
            ),
        )
        serve_over(server, transport, host=host, port=port, path=path)
    return 0


def _sandbox_tool(
    stack: contextlib.ExitStack, root: Path, folder: Path | None, config: SystemConfig
) -> Function:
    """``run_python`` in a new session of a Jupyter sandbox that ``stack`` shuts down."""
    from lllm_adapters.jupyter import JupyterSandbox, SessionMetadata
    from lllm_domain.sandbox import code_execution_tool

    cutoff = config.cutoff_date
    manager = stack.enter_context(JupyterSandbox(folder or root / "mcp-sandboxes"))
    name = "mcp-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")
    session = manager.create_session(
        name,
        SessionMetadata(
            project_root=str(root),
            cutoff_date=cutoff.isoformat() if cutoff else None,
            proxies=config.activate_proxies,
        ),
    )
    return code_execution_tool(session)
