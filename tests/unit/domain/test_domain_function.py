"""Functions (tools): schemas from typed callables, validation, and invoke that never raises."""

from __future__ import annotations

import asyncio
import enum
from typing import Any, Literal

import pytest
from attrs import define
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.errors import PromptError
from lllm_domain.function import Function, MCPServer, default_processor, json_schema_for, tool
from lllm_domain.message import FunctionCall

from tests.support.domain_builders import PROPERTY


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def search(
    query: str,
    limit: int,
    ratio: float,
    exact: bool,
    color: Color,
    mode: Literal["fast", "slow"],
    tags: list[int],
    note: str | None,
    page: int = 1,
    cursor: str | None = None,
    *rest: Any,
    **options: Any,
) -> dict[str, Any]:
    """Search the catalogue.

    Longer explanation that is part of the summary.

    Args:
        query: what to look for
        limit: how many results,
            at most
        ratio: a number
        page: which page

    Returns:
        matches
    """
    return {"query": query, "page": page}


def test_from_callable_derives_the_schema_from_signature_and_docstring() -> None:
    fn = Function.from_callable(search)
    assert fn.name == "search"
    assert fn.description == (
        "Search the catalogue.\n\nLonger explanation that is part of the summary."
    )
    assert fn.callable is search
    assert dict(fn.parameters) == {
        "query": {"type": "string", "description": "what to look for"},
        "limit": {"type": "integer", "description": "how many results, at most"},
        "ratio": {"type": "number", "description": "a number"},
        "exact": {"type": "boolean"},
        "color": {"enum": ["red", "blue"]},
        "mode": {"enum": ["fast", "slow"]},
        "tags": {"type": "array", "items": {"type": "integer"}},
        "note": {"type": ["string", "null"]},
        "page": {"type": "integer", "description": "which page"},
        "cursor": {"type": ["string", "null"]},
    }
    assert fn.required == ("query", "limit", "ratio", "exact", "color", "mode", "tags", "note")
    schema = fn.json_schema()
    assert schema["required"] == list(fn.required)
    assert "additionalProperties" not in schema


def test_strict_mode_requires_every_property_and_makes_optional_ones_nullable() -> None:
    fn = Function.from_callable(search, strict=True)
    schema = fn.json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == list(schema["properties"])
    assert schema["properties"]["page"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "description": "which page",
    }
    # Already nullable: left as it is.
    assert schema["properties"]["cursor"] == {"type": ["string", "null"]}
    assert schema["properties"]["query"] == {"type": "string", "description": "what to look for"}


def test_strict_null_for_an_optional_parameter_means_its_default() -> None:
    """Regression: strict mode makes the model send ``null`` for omitted optional parameters;
    the callable must then get its Python default, not ``None``."""

    def page_of(query: str, page: int = 3, cursor: str | None = "start") -> str:
        """Page."""
        return f"{query}:{page}:{cursor}"

    fn = Function.from_callable(page_of, strict=True)
    done = fn.invoke(FunctionCall("c", "page_of", {"query": "q", "page": None, "cursor": None}))
    # ``page`` is not nullable in Python, so null means "use the default"; ``cursor`` accepts
    # None, so None is passed through as the model's explicit choice.
    assert done.result == "q:3:None"
    loose = Function.from_callable(page_of)
    bad = loose.invoke(FunctionCall("c", "page_of", {"query": "q", "page": None}))
    assert bad.error is not None and "'page' must be of type integer" in bad.error


def test_google_and_sphinx_docstrings_and_overrides() -> None:
    def f(a: int, b: str = "x") -> None:
        """Do a thing.

        :param a: the a
        :param b: the b
        """

    fn = Function.from_callable(f, name="renamed", description="Custom")
    assert fn.name == "renamed"
    assert fn.description == "Custom"
    assert fn.parameters["a"]["description"] == "the a"
    assert fn.parameters["b"]["description"] == "the b"

    @tool
    def g(x: int) -> int:
        """Double."""
        return 2 * x

    assert isinstance(g, Function)
    assert g.invoke(FunctionCall("1", "g", {"x": 4})).result == 8

    @tool(strict=True, name="h2")
    def h(x: int = 0) -> int:
        """Id."""
        return x

    assert h.name == "h2" and h.strict


def test_schema_for_nested_and_attrs_types() -> None:
    @define
    class Point:
        x: int
        y: float

    assert json_schema_for(tuple[int, ...]) == {"type": "array", "items": {"type": "integer"}}
    assert json_schema_for(list) == {"type": "array"}
    assert json_schema_for(dict[str, int]) == {"type": "object"}
    assert json_schema_for(Any) == {}
    assert json_schema_for(int | list[int]) == {
        "anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]
    }
    assert json_schema_for(Point) == {
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "number"}},
        "required": ["x", "y"],
        "additionalProperties": False,
    }


def test_unannotated_or_unsupported_parameters_are_clear_errors() -> None:
    def untyped(a, b: int) -> None:  # type: ignore[no-untyped-def]
        """No type for a."""

    with pytest.raises(PromptError, match=r"parameter 'a' .* has no type annotation"):
        Function.from_callable(untyped)

    def weird(a: complex) -> None:
        """Complex."""

    with pytest.raises(PromptError, match="cannot derive a JSON schema"):
        Function.from_callable(weird)


def test_invalid_names_and_required_without_parameters_are_rejected() -> None:
    with pytest.raises(PromptError, match="name 'bad name' is invalid"):
        Function("bad name")
    with pytest.raises(PromptError, match=r"requires \['x'\]"):
        Function("f", required=("x",))


def test_validate_checks_types_enums_and_items() -> None:
    fn = Function.from_callable(search)
    good = {
        "query": "q",
        "limit": 1,
        "ratio": 1,
        "exact": False,
        "color": "red",
        "mode": "fast",
        "tags": [1, 2],
        "note": None,
    }
    assert fn.validate(good) == []
    problems = fn.validate({**good, "limit": True, "color": "green", "tags": [1, "2"], "extra": 1})
    assert problems == [
        "argument 'limit' must be of type integer, not True",
        "argument 'color' must be one of ['red', 'blue'], not 'green'",
        "argument 'tags[1]' must be of type integer, not '2'",
        "unknown argument 'extra'; expected one of "
        "['color', 'cursor', 'exact', 'limit', 'mode', 'note', 'page', 'query', 'ratio', 'tags']",
    ]


def test_invoke_turns_failures_into_error_results() -> None:
    def boom() -> None:
        """Fail."""
        raise RuntimeError("nope")

    fn = Function.from_callable(boom)
    done = fn.invoke(FunctionCall("c1", "boom"))
    assert done.error == "RuntimeError: nope"
    assert done.result_text == "Error: RuntimeError: nope"
    assert not done.success
    unlinked = Function("u").invoke(FunctionCall("c2", "u"))
    assert unlinked.error == "function 'u' is not linked to any code"

    def unprintable() -> int:
        """Fine."""
        return 1

    def bad_processor(result: Any) -> str:
        raise ValueError("cannot print")

    odd = Function.from_callable(unprintable, processor=bad_processor)
    assert "could not turn the result into text" in (odd.invoke(FunctionCall("c", "x")).error or "")


def test_invoke_success_uses_the_processor() -> None:
    def pair(a: int) -> dict[str, int]:
        """Pair."""
        return {"a": a, "b": a + 1}

    done = Function.from_callable(pair).invoke(FunctionCall("c", "pair", {"a": 1}))
    assert done.success
    assert done.result == {"a": 1, "b": 2}
    assert done.result_text == '{"a": 1, "b": 2}'
    assert default_processor("text") == "text"
    assert default_processor({1, 2}) in ('"{1, 2}"', '"{2, 1}"')  # falls back to str()


def test_ainvoke_awaits_coroutines_and_falls_back_to_invoke() -> None:
    async def slow(a: int) -> int:
        """Slow."""
        await asyncio.sleep(0)
        if a < 0:
            raise ValueError("negative")
        return a * 10

    fn = Function.from_callable(slow)
    assert asyncio.run(fn.ainvoke(FunctionCall("c", "slow", {"a": 2}))).result == 20
    assert asyncio.run(fn.ainvoke(FunctionCall("c", "slow", {"a": -1}))).error == (
        "ValueError: negative"
    )
    bad = asyncio.run(fn.ainvoke(FunctionCall("c", "slow", {"a": "x"})))
    assert bad.error is not None and "must be of type integer" in bad.error
    sync = Function.from_callable(search)
    done = asyncio.run(sync.ainvoke(FunctionCall("c", "search", {})))
    assert done.error is not None and "missing required argument 'query'" in done.error


def test_async_tool_in_sync_invoke_is_an_error_result_and_strict_null_applies_async() -> None:
    async def fetch(key: str, limit: int = 2) -> str:
        """Fetch."""
        return f"{key}:{limit}"

    fn = Function.from_callable(fetch, strict=True)
    done = fn.invoke(FunctionCall("c", "fetch", {"key": "k", "limit": None}))
    assert done.error is not None and "is async and cannot run in a sync agent call" in done.error
    awaited = asyncio.run(fn.ainvoke(FunctionCall("c", "fetch", {"key": "k", "limit": None})))
    assert awaited.result == "k:2"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@PROPERTY
@given(
    arguments=st.dictionaries(
        st.sampled_from(["query", "limit", "tags", "color", "mode", "zzz"]) | st.text(max_size=4),
        JSON_VALUES,
        max_size=6,
    ),
    broken=st.booleans(),
)
def test_invoke_never_raises(arguments: dict[str, Any], broken: bool) -> None:
    def touchy(**kwargs: Any) -> Any:
        if "limit" in kwargs:
            raise KeyError("limit")
        return kwargs

    fn = Function.from_callable(search).link(touchy)
    call = FunctionCall("c", "search", arguments, arguments_error="bad" if broken else None)
    done = fn.invoke(call)
    assert done.id == "c"
    assert done.result_text is not None
    assert done.success == (done.error is None)


def test_mcp_server_tool_descriptor_keeps_headers_out_of_repr() -> None:
    server = MCPServer(
        "docs", "https://mcp.example", allowed_tools=("a",), headers={"Authorization": "Bearer s"}
    )
    assert server.to_tool() == {
        "type": "mcp",
        "server_label": "docs",
        "server_url": "https://mcp.example",
        "require_approval": "never",
        "allowed_tools": ["a"],
        "headers": {"Authorization": "Bearer s"},
    }
    assert "Bearer" not in repr(server)
    assert "allowed_tools" not in MCPServer("x", "u").to_tool()


def test_function_calls_compare_by_name_and_arguments() -> None:
    a = FunctionCall("1", "f", {"x": 1, "y": [1]})
    assert a.is_repeated(FunctionCall("2", "f", {"y": [1], "x": 1}))
    assert not a.is_repeated(FunctionCall("1", "f", {"x": 2, "y": [1]}))
    assert not a.is_repeated(FunctionCall("1", "g", {"x": 1, "y": [1]}))
    assert not a.success
    assert a.with_result(3, "3").success
    assert a.with_error("bad").result_text == "Error: bad"


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


def test_enum_parameters_receive_members_and_optional_enums_validate() -> None:
    seen: list[object] = []

    def paint(shade: Shade, accent: Shade | None = None) -> str:
        """Paint."""
        seen.append((shade, accent))
        return "done"

    fn = Function.from_callable(paint, strict=True)
    ok = fn.invoke(FunctionCall("1", "paint", {"shade": "dark", "accent": "light"}))
    assert ok.success and seen == [(Shade.DARK, Shade.LIGHT)]
    assert fn.invoke(FunctionCall("2", "paint", {"shade": "light", "accent": None})).success
    assert seen[-1] == (Shade.LIGHT, None)
    bad = fn.invoke(FunctionCall("3", "paint", {"shade": "light", "accent": "neon"}))
    assert bad.error is not None and "'neon'" in bad.error and len(seen) == 2


async def test_async_enum_parameters_receive_members() -> None:
    async def paint(shade: Shade) -> str:
        """Paint."""
        return repr(shade)

    fn = Function.from_callable(paint)
    done = await fn.ainvoke(FunctionCall("1", "paint", {"shade": "dark"}))
    assert done.result_text == repr(Shade.DARK)


@define
class Point:
    x: int
    y: int


def test_attrs_tuple_and_set_parameters_reach_the_callable_as_their_types() -> None:
    seen: list[object] = []

    def place(where: Point, pair: tuple[int, str], tags: set[str], shades: list[Shade]) -> str:
        """Place something."""
        seen.append((where, pair, tags, shades))
        return "ok"

    fn = Function.from_callable(place)
    assert fn.parameters["pair"] == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    args = {"where": {"x": 1, "y": 2}, "pair": [3, "c"], "tags": ["a"], "shades": ["dark"]}
    assert fn.invoke(FunctionCall("1", "place", args)).success
    assert seen == [(Point(1, 2), (3, "c"), {"a"}, [Shade.DARK])]


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"where": {"x": "one", "y": 2}}, "argument 'where.x' must be of type integer"),
        ({"where": {"x": 1}}, "argument 'where' is missing its field 'y'"),
        ({"where": {"x": 1, "y": 2, "z": 3}}, "argument 'where' has no field 'z'"),
        ({"where": {"x": 1, "y": 2}, "pair": [1, "a", 2]}, "must have exactly 2 items"),
        ({"where": {"x": 1, "y": 2}, "pair": ["a", "a"]}, "argument 'pair[0]' must be of type"),
    ],
)
def test_nested_argument_problems_are_named_precisely(
    arguments: dict[str, object], problem: str
) -> None:
    def place(where: Point, pair: tuple[int, str] = (0, "")) -> str:
        """Place something."""
        return "ok"

    outcome = Function.from_callable(place).invoke(FunctionCall("1", "place", arguments))
    assert outcome.error is not None and problem in outcome.error


async def test_a_blocking_tool_runs_off_the_event_loop_in_async_calls() -> None:
    import threading

    released = threading.Event()

    def wait_for_release() -> str:
        """Block until another task on the event loop releases us."""
        return "released" if released.wait(timeout=5) else "the event loop was blocked"

    async def release_soon() -> None:
        await asyncio.sleep(0.05)
        released.set()

    blocking = Function.from_callable(wait_for_release)
    blocking = Function(
        blocking.name,
        blocking.description,
        blocking.parameters,
        blocking.required,
        callable=blocking.callable,
        blocking=True,
    )
    outcome, _ = await asyncio.gather(
        blocking.ainvoke(FunctionCall("1", "wait_for_release")), release_soon()
    )
    assert outcome.result == "released"


async def test_a_non_blocking_sync_tool_runs_on_the_loop_thread() -> None:
    import threading

    def where() -> int:
        """The thread this runs on."""
        return threading.get_ident()

    outcome = await Function.from_callable(where).ainvoke(FunctionCall("1", "where"))
    assert outcome.result == threading.get_ident()
