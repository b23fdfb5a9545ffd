"""The typed error hierarchy.

Every error LLLM raises on purpose derives from :class:`LLLMError`. Messages say what is at fault
(the file, key, variable, endpoint or tool) and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lllm_domain.dialog import Dialog
    from lllm_domain.message import FunctionCall, Message
    from lllm_domain.sandbox.values import RunResult


class LLLMError(Exception):
    """Root of every error LLLM raises on purpose."""


class PromptError(LLLMError):
    """A prompt is malformed or cannot be rendered (missing variable, unlinked function, ...)."""


class RegistryError(LLLMError, KeyError):
    """A registry lookup failed or a key was registered twice."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class ConfigError(LLLMError):
    """Configuration is missing or invalid.

    ``file`` and ``line`` point at the fault when it comes from a file.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        super().__init__(where + message)


class UnsupportedFeatureError(ConfigError):
    """A request asks a model for something its provider does not offer (logprob
    classification on Anthropic, hosted web search on a Messages model, ...).

    ``feature`` names the feature, ``model`` and ``provider`` who refused it. Raised before
    any request is sent; pick a model whose provider offers the feature, or drop it.
    """

    def __init__(self, feature: str, *, model: str, provider: str, hint: str = "") -> None:
        self.feature = feature
        self.model = model
        self.provider = provider
        super().__init__(
            f"{feature} is not supported by this provider ({provider}, model {model!r})"
            + (f"; {hint}" if hint else "; use a model of a provider that offers it")
        )


class MissingExtraError(LLLMError, ImportError):
    """An optional adapter's library is not installed.

    The message names the module that needs it and the install extra that brings it, e.g.
    ``pip install "lllm-adapters[streamlit]"``.
    """

    def __init__(self, module: str, *, extra: str, package: str = "lllm-adapters") -> None:
        self.extra = extra
        self.package = package
        super().__init__(
            f"{module} needs the {extra!r} extra, which is not installed; install it with: "
            f'pip install "{package}[{extra}]" (or uv add "{package}[{extra}]")',
            name=module,
        )


class ParseError(LLLMError):
    """The model's reply does not have the shape the prompt asks for.

    ``problems`` lists every problem found, each phrased as an instruction the model can follow.
    """

    def __init__(self, problems: Sequence[str] | str) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))


class ClassificationError(ParseError):
    """A classification reply's top log-probabilities contain none of the class tokens."""


class LLMAPIError(LLLMError):
    """The model endpoint failed.

    ``retryable`` says whether trying again later may succeed (rate limits, 5xx, timeouts,
    dropped connections). ``retry_after`` is the delay in seconds the server asked for, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
        code: str | None = None,
    ) -> None:
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
        self.code = code
        super().__init__(message)

    def describe(self) -> dict[str, Any]:
        """Plain-data description, for logs and error reports."""
        return {
            "type": type(self).__name__,
            "message": str(self),
            "retryable": self.retryable,
            "status": self.status,
            "retry_after": self.retry_after,
            "code": self.code,
        }


class AgentCallError(LLLMError):
    """An agent call ended without a parsed final response.

    Nothing is lost: ``dialog`` is the conversation so far, ``function_calls`` the trace of tool
    calls made, ``attempts`` the failed replies of the last turn and ``api_errors`` every API error
    seen on the way.
    """

    def __init__(
        self,
        message: str,
        *,
        dialog: Dialog | None = None,
        function_calls: Sequence[FunctionCall] = (),
        attempts: Sequence[Message] = (),
        api_errors: Sequence[LLMAPIError] = (),
    ) -> None:
        self.dialog = dialog
        self.function_calls = tuple(function_calls)
        self.attempts = tuple(attempts)
        self.api_errors = tuple(api_errors)
        super().__init__(message)


class ParseRetriesExhaustedError(AgentCallError):
    """The model kept answering in the wrong shape past ``max_exception_retry``."""


class LLMRetriesExhaustedError(AgentCallError):
    """The model endpoint kept failing past the retry limits."""


class BudgetExceededError(AgentCallError):
    """A per-call budget (requests, tokens or cost) was reached before the call finished."""

    def __init__(self, message: str, *, limit: str, **kwargs: Any) -> None:
        self.limit = limit
        super().__init__(message, **kwargs)


class CallerContractError(AgentCallError):
    """The LLM caller broke its port's contract: it returned something that is not a
    :class:`~lllm_domain.message.Message`, or raised an error other than
    :class:`LLMAPIError`. The dialog so far is kept on the error, and the caller's own exception
    is its ``__cause__``."""


class ComputerSafetyRefusedError(AgentCallError):
    """A computer call carried safety checks that the approval callback did not approve, so it
    was not run. ``checks`` are the refused :class:`~lllm_domain.computer.SafetyCheck` values."""

    def __init__(self, message: str, *, checks: Sequence[Any] = (), **kwargs: Any) -> None:
        self.checks = tuple(checks)
        super().__init__(message, **kwargs)


class ComputerStepLimitError(AgentCallError):
    """The model asked for more computer actions than ``CallLimits.max_computer_steps``."""


class AgentCallProtocolError(LLLMError):
    """A driver fed the agent-call machine an event it cannot take in its current phase (or
    drove a machine that has already ended). A bug in the driver, never in the model's reply."""


class ProxyError(LLLMError):
    """A proxy endpoint was misdeclared or its call failed."""


class ComputerError(LLLMError):
    """A computer (e.g. the headless browser) could not start, refused a navigation, or failed
    an action; the message names the action, URL or setting at fault."""


class MCPServerError(LLLMError):
    """An MCP server could not be started or reached, or a call to it failed, hung or was
    cancelled. Agent calls never see it: a tool call's failure becomes an error result the model
    reads (and a log line for the user)."""


class SandboxError(LLLMError):
    """A sandbox (notebook kernel) operation failed."""


class CellIndexError(SandboxError, IndexError):
    """A cell index is outside the notebook."""


class SessionNotFoundError(SandboxError, KeyError):
    """No sandbox session has the requested name."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class KernelUnavailableError(SandboxError):
    """The kernel could not be started, restarted or reached."""


class CellRunError(SandboxError):
    """Running a cell did not finish cleanly; ``result`` is what was collected."""

    def __init__(self, message: str, result: RunResult) -> None:
        self.result = result
        super().__init__(message)


class CellExecutionError(CellRunError):
    """The cell's code raised an exception (the kernel is fine)."""


class CellTimeoutError(CellRunError):
    """The cell ran past its timeout and was interrupted (or the kernel was restarted)."""


class KernelDiedError(CellRunError):
    """The kernel process died while running the cell; it has been restarted, state is lost."""


class ReplayError(LLLMError):
    """A recording cannot be replayed (missing, unreadable, or a caller is misconfigured)."""


class ReplayDivergenceError(ReplayError):
    """A request made during replay matches no recorded call: the run diverged from the
    recording (a prompt, tool result or code path changed). Re-record after intended changes."""

    def __init__(
        self,
        message: str,
        *,
        agent_name: str,
        turn: int,
        index: int | None = None,
        expected: str | None = None,
        got: str | None = None,
    ) -> None:
        self.agent_name = agent_name
        self.turn = turn
        self.index = index
        self.expected = expected
        self.got = got
        super().__init__(message)


class ReplaySessionError(LLLMError):
    """A logged session cannot be read back as asked (unknown dialog, incomplete log)."""


class ScriptExhaustedError(LLLMError):
    """The scripted caller got more requests than it has replies."""


class BatchError(LLLMError):
    """A batch run cannot go on as asked (a bad input file, a results file of another batch,
    an engine that cannot start)."""


class BatchInputError(BatchError):
    """A line of a batch's input file is not a JSON object, or two rows share one key."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        self.file = file
        self.line = line
        where = f"{file}:{line}: " if file and line else f"{file}: " if file else ""
        super().__init__(where + message)
