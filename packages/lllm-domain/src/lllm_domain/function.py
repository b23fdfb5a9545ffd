"""Tools the model can call: :class:`Function`, built by hand or from a typed Python callable,
and :class:`MCPServer`, a hosted MCP tool descriptor."""

from __future__ import annotations

import enum
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, cast

from attrs import define, evolve, field

from lllm_domain.errors import PromptError
from lllm_domain.message import ARGUMENTS_TOO_DEEP, EMPTY_MAPPING, FunctionCall
from lllm_domain.tool_output import ToolOutput


def default_processor(result: Any) -> str:
    """Turn a tool's result into the text the model reads (strings as they are, a
    :class:`~lllm_domain.tool_output.ToolOutput` as its ``text``, else JSON)."""
    if isinstance(result, str):
        return result
    if isinstance(result, ToolOutput):
        return result.text
    try:
        return json.dumps(result, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(result)


@define(frozen=True, slots=True)
class Function:
    """A tool: its schema, the Python callable it is linked to and how its result becomes text.

    ``parameters`` is the JSON-schema ``properties`` object and ``required`` the required names.
    Calling :meth:`invoke` never raises: bad arguments and exceptions become error results the
    model can read and correct. A callable that returns a
    :class:`~lllm_domain.tool_output.ToolOutput` shows the model its images as well as its text.
    """

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default=EMPTY_MAPPING)
    required: tuple[str, ...] = ()
    strict: bool = False
    callable: Callable[..., Any] | None = field(default=None, eq=False, repr=False)
    processor: Callable[[Any], str] = field(default=default_processor, eq=False, repr=False)
    null_means_default: tuple[str, ...] = ()
    """Parameters made nullable only for strict mode: a ``null`` from the model means "use the
    Python default", so it is dropped before the callable is invoked."""
    blocking: bool = False
    """The callable blocks on I/O (HTTP, a kernel, a database): the async driver runs it in a
    worker thread so other agent calls on the event loop go on meanwhile."""
    parameter_types: Mapping[str, Any] = field(default=EMPTY_MAPPING, repr=False)
    """Python types of parameters that JSON cannot carry as they are (Enums, attrs classes,
    tuples, sets): the model sends plain JSON, the callable receives these types."""

    def __attrs_post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", self.name):
            raise PromptError(
                f"function name {self.name!r} is invalid: use 1-64 letters, digits, '_' or '-'"
            )
        unknown = [r for r in self.required if r not in self.parameters]
        if unknown:
            raise PromptError(
                f"function {self.name!r} requires {unknown} but declares no such parameters"
            )

    @property
    def linked(self) -> bool:
        """Whether a Python callable is attached."""
        return self.callable is not None

    def link(self, fn: Callable[..., Any]) -> Function:
        """A copy linked to ``fn``."""
        return evolve(self, callable=fn)

    def json_schema(self) -> dict[str, Any]:
        """The parameters as a JSON-schema object, in the form OpenAI's strict mode accepts."""
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: dict(v) for k, v in self.parameters.items()},
            "required": list(self.parameters) if self.strict else list(self.required),
        }
        if self.strict:
            schema["additionalProperties"] = False
        return schema

    def validate(self, arguments: Mapping[str, Any]) -> list[str]:
        """Problems with ``arguments`` (empty when they fit the schema)."""
        problems = [
            f"missing required argument {name!r}" for name in self.required if name not in arguments
        ]
        for key, value in arguments.items():
            spec = self.parameters.get(key)
            if spec is None:
                problems.append(
                    f"unknown argument {key!r}; expected one of {sorted(self.parameters)}"
                )
                continue
            problem = _check_value(value, spec, key)
            if problem:
                problems.append(problem)
        return problems

    def invoke(self, call: FunctionCall) -> FunctionCall:
        """Run the call; return it with its result or an error. Never raises."""
        if call.arguments_error == ARGUMENTS_TOO_DEEP:
            return call.with_error(
                f"the arguments for {self.name!r} are not usable: {ARGUMENTS_TOO_DEEP}; "
                "send a flatter JSON object"
            )
        if call.arguments_error is not None:
            return call.with_error(
                f"the arguments for {self.name!r} are not valid JSON ({call.arguments_error}); "
                "send a JSON object"
            )
        problems = self.validate(call.arguments)
        if problems:
            return call.with_error(f"invalid arguments for {self.name!r}: " + "; ".join(problems))
        if self.callable is None:
            return call.with_error(f"function {self.name!r} is not linked to any code")
        if inspect.iscoroutinefunction(self.callable):
            return call.with_error(
                f"function {self.name!r} is async and cannot run in a sync agent call; "
                "use Agent.acall"
            )
        try:
            result = self.callable(**self._call_arguments(call))
        except Exception as exc:  # a tool's failure is data for the model, not a crash
            return call.with_error(f"{type(exc).__name__}: {exc}")
        return self._finish(call, result)

    async def ainvoke(self, call: FunctionCall) -> FunctionCall:
        """Like :meth:`invoke`, awaiting the callable when it is a coroutine function (and
        running a ``blocking`` one in a worker thread)."""
        if self.callable is None or not inspect.iscoroutinefunction(self.callable):
            if self.blocking and self.callable is not None:
                import asyncio

                return await asyncio.to_thread(self.invoke, call)
            return self.invoke(call)
        if call.arguments_error is not None or self.validate(call.arguments):
            return self.invoke(call)
        try:
            result = await self.callable(**self._call_arguments(call))
        except Exception as exc:
            return call.with_error(f"{type(exc).__name__}: {exc}")
        return self._finish(call, result)

    def _call_arguments(self, call: FunctionCall) -> Mapping[str, Any]:
        if not (self.null_means_default or self.parameter_types):
            return call.arguments
        arguments = {
            k: v
            for k, v in call.arguments.items()
            if not (v is None and k in self.null_means_default)
        }
        if self.parameter_types:
            from lllm_domain.serialization import structure

            for key, tp in self.parameter_types.items():
                if key in arguments:
                    arguments[key] = structure(arguments[key], tp)
        return arguments

    def _finish(self, call: FunctionCall, result: Any) -> FunctionCall:
        try:
            text = self.processor(result)
        except Exception as exc:
            return call.with_error(f"could not turn the result into text: {exc}")
        return call.with_result(result, text)

    @classmethod
    def from_callable(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        strict: bool = False,
        processor: Callable[[Any], str] = default_processor,
    ) -> Function:
        """Build a linked Function from a typed callable: signature + docstring → JSON schema.

        Parameter descriptions come from a Google-style ``Args:`` section (or ``:param x:``
        lines). With ``strict=True`` optional parameters are sent as required-but-nullable, as
        OpenAI's strict mode demands.
        """
        doc = inspect.getdoc(fn) or ""
        summary, param_docs = _parse_docstring(doc)
        try:
            hints = typing.get_type_hints(fn)
        except Exception as exc:
            raise PromptError(f"cannot read the type hints of {fn!r}: {exc}") from exc
        properties: dict[str, Any] = {}
        required: list[str] = []
        null_means_default: list[str] = []
        converted: dict[str, Any] = {}
        for pname, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if pname not in hints:
                raise PromptError(
                    f"parameter {pname!r} of {getattr(fn, '__name__', fn)!r} has no type "
                    "annotation; annotate it so a JSON schema can be derived"
                )
            schema = json_schema_for(hints[pname])
            if _needs_conversion(hints[pname]):
                converted[pname] = hints[pname]
            optional = param.default is not inspect.Parameter.empty
            if optional and strict and "null" not in _types_of(schema):
                schema = {"anyOf": [schema, {"type": "null"}]}
                null_means_default.append(pname)
            if pname in param_docs:
                schema = {**schema, "description": param_docs[pname]}
            properties[pname] = schema
            if not optional:
                required.append(pname)
        return cls(
            name=name or fn.__name__,
            description=description if description is not None else summary,
            parameters=properties,
            required=tuple(required),
            strict=strict,
            callable=fn,
            processor=processor,
            null_means_default=tuple(null_means_default),
            parameter_types=converted,
        )


def _needs_conversion(tp: Any) -> bool:
    """Whether a parameter's plain JSON value must be converted to reach the callable as its
    annotated type (an Enum member, an attrs instance, a tuple or set), anywhere inside."""
    if isinstance(tp, type) and (issubclass(tp, enum.Enum) or hasattr(tp, "__attrs_attrs__")):
        return True
    if typing.get_origin(tp) in (tuple, set, frozenset) or tp in (tuple, set, frozenset):
        return True
    return any(_needs_conversion(arg) for arg in typing.get_args(tp) if arg is not Ellipsis)


@typing.overload
def tool(fn: Callable[..., Any], *, name: str | None = None, strict: bool = False) -> Function: ...
@typing.overload
def tool(
    fn: None = None, *, name: str | None = None, strict: bool = False
) -> Callable[[Callable[..., Any]], Function]: ...
def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, strict: bool = False
) -> Function | Callable[[Callable[..., Any]], Function]:
    """Decorator form of :meth:`Function.from_callable`: ``@tool`` or ``@tool(strict=True)``."""

    def wrap(f: Callable[..., Any]) -> Function:
        return Function.from_callable(f, name=name, strict=strict)

    return wrap(fn) if fn is not None else wrap


@define(frozen=True, slots=True)
class MCPServer:
    """A hosted MCP server, sent to the Responses API as an ``mcp`` tool."""

    label: str
    url: str
    require_approval: str = "never"
    allowed_tools: tuple[str, ...] | None = None
    headers: Mapping[str, str] = field(default=EMPTY_MAPPING, repr=False)
    """Sent to the MCP server (e.g. authorization); never logged."""

    def to_tool(self) -> dict[str, Any]:
        """The Responses API tool object."""
        spec: dict[str, Any] = {
            "type": "mcp",
            "server_label": self.label,
            "server_url": self.url,
            "require_approval": self.require_approval,
        }
        if self.allowed_tools is not None:
            spec["allowed_tools"] = list(self.allowed_tools)
        if self.headers:
            spec["headers"] = dict(self.headers)
        return spec


JSON_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (dict, Mapping),
    "null": (type(None),),
}
"""The Python types that satisfy each JSON-schema type (bool is excluded from numbers by the
checks that use it)."""


def _types_of(schema: Mapping[str, Any]) -> set[str]:
    if "anyOf" in schema:
        return set().union(*(_types_of(s) for s in schema["anyOf"]))
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else set(t)


def _check_value(value: Any, spec: Mapping[str, Any], path: str) -> str | None:
    if "anyOf" in spec:
        problems = [_check_value(value, option, path) for option in spec["anyOf"]]
        if any(problem is None for problem in problems):
            return None
        return " or ".join(p for p in problems if p)
    if "enum" in spec and value not in spec["enum"]:
        return f"argument {path!r} must be one of {list(spec['enum'])}, not {value!r}"
    allowed = _types_of(spec)
    if not allowed:
        return None
    for t in allowed:
        py = JSON_PYTHON_TYPES.get(t)
        if py is None:
            return None
        if isinstance(value, bool) and t in ("integer", "number"):
            continue
        if isinstance(value, py):
            if t == "array" and "prefixItems" in spec:
                items = cast("Sequence[Any]", value)
                shapes = spec["prefixItems"]
                if len(items) != len(shapes):
                    return f"argument {path!r} must have exactly {len(shapes)} items, not {value!r}"
                for i, (item, shape) in enumerate(zip(items, shapes, strict=True)):
                    problem = _check_value(item, shape, f"{path}[{i}]")
                    if problem:
                        return problem
            elif t == "object" and "properties" in spec:
                problem = _check_object(cast("Mapping[str, Any]", value), spec, path)
                if problem:
                    return problem
            elif t == "array" and "items" in spec:
                items = cast("Sequence[Any]", value)
                for i, item in enumerate(items):
                    problem = _check_value(item, spec["items"], f"{path}[{i}]")
                    if problem:
                        return problem
            return None
    return f"argument {path!r} must be of type {' or '.join(sorted(allowed))}, not {value!r}"


def _check_object(value: Mapping[str, Any], spec: Mapping[str, Any], path: str) -> str | None:
    properties: Mapping[str, Any] = spec["properties"]
    for name in spec.get("required", ()):
        if name not in value:
            return f"argument {path!r} is missing its field {name!r}"
    for key, item in value.items():
        shape = properties.get(key)
        if shape is None:
            if spec.get("additionalProperties") is False:
                return f"argument {path!r} has no field {key!r}; expected {sorted(properties)}"
            continue
        problem = _check_value(item, shape, f"{path}.{key}")
        if problem:
            return problem
    return None


def json_schema_for(tp: Any) -> dict[str, Any]:
    """The JSON schema of a Python type annotation (str, int, lists, dicts, Literal, Enum,
    Optional/unions, attrs classes)."""
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    for py, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
        if tp is py:
            return {"type": name}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        options = [json_schema_for(a) for a in args]
        simple = [o.get("type") for o in options]
        if all(isinstance(s, str) for s in simple) and all(len(o) == 1 for o in options):
            return {"type": simple}
        return {"anyOf": options}
    if origin in (list, tuple, set, frozenset, Sequence) or tp in (list, tuple, set):
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": json_schema_for(args[0])}
        if origin is tuple and args:
            return {
                "type": "array",
                "prefixItems": [json_schema_for(a) for a in args],
                "minItems": len(args),
                "maxItems": len(args),
            }
        return {"type": "array", "items": json_schema_for(args[0])} if args else {"type": "array"}
    if origin in (dict, Mapping) or tp in (dict,):
        return {"type": "object"}
    if isinstance(tp, type) and hasattr(tp, "__attrs_attrs__"):
        return attrs_json_schema(tp)
    raise PromptError(
        f"cannot derive a JSON schema for type {tp!r}; use str, int, float, bool, list, dict, "
        "Literal, an Enum, an attrs class, or give the Function's parameters by hand"
    )


def attrs_json_schema(cls: type) -> dict[str, Any]:
    """A strict JSON schema for an attrs class (used for structured outputs)."""
    import attrs

    hints = typing.get_type_hints(cls)
    props = {a.name: json_schema_for(hints.get(a.name, Any)) for a in attrs.fields(cls)}
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


_PARAM_LINE = re.compile(r"^\s*(?::param\s+)?(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Split a docstring into its summary and per-parameter descriptions."""
    lines = doc.splitlines()
    summary_lines: list[str] = []
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:", "params:"):
            in_args = True
            continue
        if stripped.startswith(":param "):
            match = _PARAM_LINE.match(stripped)
            if match:
                current = match.group(1)
                params[current] = match.group(2).strip()
            continue
        if in_args:
            if not stripped:
                current = None
                continue
            if stripped.endswith(":") and not line.startswith((" ", "\t")):
                in_args = False
                continue
            match = _PARAM_LINE.match(stripped)
            if match and line.startswith((" ", "\t")) and not line.startswith(("        ",)):
                current = match.group(1)
                params[current] = match.group(2).strip()
            elif current is not None:
                params[current] = (params[current] + " " + stripped).strip()
            continue
        if not params:
            summary_lines.append(line)
    summary = "\n".join(summary_lines).strip()
    return summary, params
