"""`lllm proxies list | catalog | test`: the proxies discovery found in the project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from lllm_cli.commands.options import ProjectOption, ProxyOption
from lllm_cli.errors import CommandError


def list_proxies(*, project: ProjectOption = None) -> int:
    """List the project's registered proxies and their endpoints."""
    from lllm_cli.project import open_project

    opened = open_project(project)
    if not len(opened.proxies):
        print(
            f"No proxies found; add Proxy classes to the [proxies] folders of {opened.config_file}"
        )
        return 0
    from lllm_domain.proxy import Proxy

    for path, proxy_cls in opened.proxies.items():
        if not issubclass(proxy_cls, Proxy):
            print(f"{path}  ({proxy_cls.__name__}: not a Proxy subclass)")
            continue
        print(f"{path}  ({proxy_cls.display_name()}) {proxy_cls.base_url}")
        for key, spec in proxy_cls.endpoints().items():
            print(f"    {path}/{key}  {spec.method}  {spec.description}")
    return 0


def catalog(
    *,
    project: ProjectOption = None,
    proxy: ProxyOption = (),
) -> int:
    """Print the API catalog of the proxies, as an agent's prompt would include it.

    Parameters
    ----------
    proxy
        Only these proxy paths (default: all registered).
    """
    from lllm_domain.proxy import ProxyCatalog, api_catalog, api_directory

    from lllm_cli.project import open_project

    opened = open_project(project)
    chosen, missing = ProxyCatalog.activate(opened.proxies, list(proxy) or None)
    if missing:
        raise CommandError(
            f"no proxy registered as {', '.join(map(repr, missing))}; registered: "
            f"{', '.join(opened.proxies.keys()) or 'none'}"
        )
    print(api_catalog(chosen))
    print()
    print(api_directory(chosen))
    return 0


def test(
    *,
    project: ProjectOption = None,
    config: Annotated[Path | None, Parameter(name=["--config", "-c"])] = None,
    proxy: ProxyOption = (),
) -> int:
    """Call every endpoint of the activated proxies with its declared examples.

    The proxies tested are --proxy if given, else the system config's activate_proxies.
    This sends real HTTP requests (with API keys from the environment).

    Parameters
    ----------
    config
        The system config whose activate_proxies, cutoff_date and deploy_mode to use.
    proxy
        Test these proxy paths instead.
    """
    from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings

    from lllm_cli.composition import configure_cli_logging
    from lllm_cli.project import open_project

    configure_cli_logging()
    opened = open_project(project)
    system_config = opened.load_system_config(config)
    names = list(proxy) or list(system_config.activate_proxies)
    if not names:
        raise CommandError(
            "no proxies to test: the system config activates none; pass --proxy PATH "
            f"(registered: {', '.join(opened.proxies.keys()) or 'none'})"
        )
    unknown = [n for n in names if n not in opened.proxies]
    if unknown:
        raise CommandError(
            f"no proxy registered as {', '.join(map(repr, unknown))}; registered: "
            f"{', '.join(opened.proxies.keys()) or 'none'}"
        )
    settings = ProxySettings(
        activate=tuple(names),
        cutoff_date=system_config.cutoff_date,
        deploy_mode=system_config.deploy_mode,
    )
    failed = 0
    with HttpProxyRuntime(settings, registry=opened.proxies) as runtime:
        for check in runtime.auto_test():
            status = "ok  " if check.ok else "FAIL"
            print(f"{status} {check.path}  {check.preview if check.ok else check.error}")
            failed += not check.ok
    print(f"{len(runtime.paths()) - failed} passed, {failed} failed")
    return 1 if failed else 0
