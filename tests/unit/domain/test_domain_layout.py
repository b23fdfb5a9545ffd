"""The domain's layout: what the root exports, where errors live, no re-export tricks."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import lllm_domain
import pytest
from lllm_domain import agent_call, ports
from lllm_domain.errors import LLLMError

MACHINE_INTERNALS = {
    "AgentCall",
    "CallModel",
    "ModelFailed",
    "ModelReplied",
    "RunTools",
    "Sleep",
    "Slept",
    "ToolRun",
    "ToolsFinished",
    "run_async",
    "run_sync",
    "AgentCallProtocolError",
}


def _domain_modules() -> list[ModuleType]:
    names = [
        info.name for info in pkgutil.walk_packages(lllm_domain.__path__, prefix="lllm_domain.")
    ]
    return [importlib.import_module(name) for name in names]


def test_the_root_all_holds_no_machine_internals() -> None:
    assert MACHINE_INTERNALS.isdisjoint(lllm_domain.__all__)
    for name in MACHINE_INTERNALS - {"AgentCallProtocolError"}:
        assert hasattr(agent_call, name), f"{name} must stay reachable from its own module"


def test_a_name_the_root_no_longer_exports_says_where_it_lives() -> None:
    with pytest.raises(AttributeError, match=r"import it from lllm_domain\.agent_call"):
        lllm_domain.run_sync  # noqa: B018
    with pytest.raises(AttributeError, match=r"import it from lllm_adapters\.proxies"):
        lllm_domain.ProxySettings  # noqa: B018
    assert not hasattr(lllm_domain, "CallModel")


def test_the_root_all_holds_what_users_write_and_every_name_resolves() -> None:
    for name in (
        "Agent",
        "Prompt",
        "tool",
        "Dialog",
        "Message",
        "System",
        "LLLMError",
        "CallLimits",
        "Budget",
        "RetryPolicy",
        "AgentCallError",
        "SandboxError",
        "CellExecutionError",
        "ReplayError",
        "Proxy",
        "code_execution_tool",
    ):
        assert name in lllm_domain.__all__, name
    for name in lllm_domain.__all__:
        getattr(lllm_domain, name)


def test_adapter_configuration_is_not_in_the_domain() -> None:
    for module in _domain_modules():
        for name in ("ProxySettings", "SessionMetadata"):
            assert not hasattr(module, name), f"{module.__name__}.{name}"


def test_every_public_error_class_is_defined_in_errors_py() -> None:
    stray = [
        f"{module.__name__}.{name}"
        for module in _domain_modules()
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and issubclass(value, LLLMError)
        and not name.startswith("_")
        and value.__module__ != "lllm_domain.errors"
    ]
    assert stray == []


def test_ports_has_no_module_level_getattr() -> None:
    assert "__getattr__" not in vars(ports)
    with pytest.raises(AttributeError):
        ports.Sandbox  # type: ignore[attr-defined]  # noqa: B018
