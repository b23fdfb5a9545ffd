"""LLLM's pure core: messages, prompts, parsers, dialogs, the agent-call state machine,
registries and ports. Depends only on attrs, cattrs and msgspec; performs no I/O of its own.

The root holds what users write: agents, prompts, tools, dialogs and messages, systems, limits,
the ports they implement and the errors they catch. The machinery lives in its own modules: the
agent-call machine's actions and events and its drivers (``CallModel``, ``ModelReplied``,
``run_sync``, ...) in :mod:`lllm_domain.agent_call`; serialization in
:mod:`lllm_domain.serialization`; fakes in :mod:`lllm_domain.testing`.

The optional subsystems (proxies, recording/replay, sandbox) are imported on first use of their
names, so ``import lllm_domain`` stays cheap."""

import importlib
from typing import TYPE_CHECKING, Any

from lllm_domain.agent import Agent
from lllm_domain.agent_call import AgentResult
from lllm_domain.classification import abinary_classify, aclassify, binary_classify, classify
from lllm_domain.config import AgentConfig, MCPServerConfig, SystemConfig
from lllm_domain.dialog import Dialog
from lllm_domain.errors import (
    AgentCallError,
    BudgetExceededError,
    CallerContractError,
    CellExecutionError,
    CellRunError,
    CellTimeoutError,
    ClassificationError,
    ConfigError,
    KernelDiedError,
    LLLMError,
    LLMAPIError,
    LLMRetriesExhaustedError,
    MCPServerError,
    MissingExtraError,
    ParseError,
    ParseRetriesExhaustedError,
    PromptError,
    ProxyError,
    RegistryError,
    ReplayDivergenceError,
    ReplayError,
    SandboxError,
    UnsupportedFeatureError,
)
from lllm_domain.function import Function, MCPServer, tool
from lllm_domain.limits import Budget, CallLimits, RetryPolicy
from lllm_domain.message import (
    Creator,
    FunctionCall,
    Image,
    Message,
    Modality,
    Role,
    TokenLogprob,
    TopLogprob,
)
from lllm_domain.model_card import LongPromptPricing, ModelCard, Pricing
from lllm_domain.parsing import TagSpec, parse_tags
from lllm_domain.ports import (
    AsyncLLMCaller,
    Clock,
    Frontend,
    LLMCaller,
    LogRecord,
    LogStore,
    NullFrontend,
    SystemClock,
    Tokenizer,
    TokenizerProvider,
    ToolRuntime,
)
from lllm_domain.prompt import Prompt, default_parser
from lllm_domain.registry import (
    PromptRegistry,
    ProxyRegistry,
    Registry,
    SystemRegistry,
    default_prompts,
    default_proxies,
    default_systems,
    register_prompt,
    register_proxy,
)
from lllm_domain.request import LLMRequest
from lllm_domain.system import AsyncSystem, Runtime, System, build_agent, build_system
from lllm_domain.tool_output import ToolOutput
from lllm_domain.tool_source import ToolSource
from lllm_domain.usage import Cost, Usage

if TYPE_CHECKING:
    from lllm_domain.proxy import (
        ApiKey,
        DateField,
        EndpointSpec,
        Param,
        Proxy,
        ProxyCatalog,
        endpoint,
        filter_by_cutoff,
        post_call,
    )
    from lllm_domain.recording import RecordingCaller, ReplayCaller
    from lllm_domain.replay import (
        CostReport,
        ReplaySession,
    )
    from lllm_domain.sandbox import (
        Cell,
        CellKind,
        RunResult,
        RunStatus,
        async_code_execution_tool,
        code_execution_tool,
    )

__version__: str
"""The installed lllm-domain's version (the workspace's ``VERSION`` file), read on first use."""

__all__ = [
    "Agent",
    "AgentCallError",
    "AgentConfig",
    "AgentResult",
    "ApiKey",
    "AsyncLLMCaller",
    "AsyncSystem",
    "Budget",
    "BudgetExceededError",
    "CallLimits",
    "CallerContractError",
    "Cell",
    "CellExecutionError",
    "CellKind",
    "CellRunError",
    "CellTimeoutError",
    "ClassificationError",
    "Clock",
    "ConfigError",
    "Cost",
    "CostReport",
    "Creator",
    "DateField",
    "Dialog",
    "EndpointSpec",
    "Frontend",
    "Function",
    "FunctionCall",
    "Image",
    "KernelDiedError",
    "LLLMError",
    "LLMAPIError",
    "LLMCaller",
    "LLMRequest",
    "LLMRetriesExhaustedError",
    "LogRecord",
    "LogStore",
    "LongPromptPricing",
    "MCPServer",
    "MCPServerConfig",
    "MCPServerError",
    "Message",
    "MissingExtraError",
    "Modality",
    "ModelCard",
    "NullFrontend",
    "Param",
    "ParseError",
    "ParseRetriesExhaustedError",
    "Pricing",
    "Prompt",
    "PromptError",
    "PromptRegistry",
    "Proxy",
    "ProxyCatalog",
    "ProxyError",
    "ProxyRegistry",
    "RecordingCaller",
    "Registry",
    "RegistryError",
    "ReplayCaller",
    "ReplayDivergenceError",
    "ReplayError",
    "ReplaySession",
    "RetryPolicy",
    "Role",
    "RunResult",
    "RunStatus",
    "Runtime",
    "SandboxError",
    "System",
    "SystemClock",
    "SystemConfig",
    "SystemRegistry",
    "TagSpec",
    "TokenLogprob",
    "Tokenizer",
    "TokenizerProvider",
    "ToolOutput",
    "ToolRuntime",
    "ToolSource",
    "TopLogprob",
    "UnsupportedFeatureError",
    "Usage",
    "abinary_classify",
    "aclassify",
    "async_code_execution_tool",
    "binary_classify",
    "build_agent",
    "build_system",
    "classify",
    "code_execution_tool",
    "default_parser",
    "default_prompts",
    "default_proxies",
    "default_systems",
    "endpoint",
    "filter_by_cutoff",
    "parse_tags",
    "post_call",
    "register_prompt",
    "register_proxy",
    "tool",
]

_LAZY = {
    "ApiKey": "lllm_domain.proxy",
    "Cell": "lllm_domain.sandbox",
    "CellKind": "lllm_domain.sandbox",
    "CostReport": "lllm_domain.replay",
    "DateField": "lllm_domain.proxy",
    "EndpointSpec": "lllm_domain.proxy",
    "Param": "lllm_domain.proxy",
    "Proxy": "lllm_domain.proxy",
    "ProxyCatalog": "lllm_domain.proxy",
    "RecordingCaller": "lllm_domain.recording",
    "ReplayCaller": "lllm_domain.recording",
    "ReplaySession": "lllm_domain.replay",
    "RunResult": "lllm_domain.sandbox",
    "RunStatus": "lllm_domain.sandbox",
    "async_code_execution_tool": "lllm_domain.sandbox",
    "code_execution_tool": "lllm_domain.sandbox",
    "endpoint": "lllm_domain.proxy",
    "filter_by_cutoff": "lllm_domain.proxy",
    "post_call": "lllm_domain.proxy",
}


# Names the root used to export, and where they live now.
_MOVED = {
    **dict.fromkeys(
        (
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
        ),
        "lllm_domain.agent_call",
    ),
    "AgentCallProtocolError": "lllm_domain.errors",
    "ProxySettings": "lllm_adapters.proxies",
    "SessionMetadata": "lllm_adapters.jupyter",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        return version("lllm-domain")
    module = _LAZY.get(name)
    if module is None:
        moved = _MOVED.get(name)
        hint = f"; import it from {moved} (from {moved} import {name})" if moved else ""
        raise AttributeError(f"module 'lllm_domain' has no attribute {name!r}{hint}")
    return getattr(importlib.import_module(module), name)
