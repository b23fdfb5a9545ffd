"""Prompts: rendering, functions, handler prompts and template validation."""

from __future__ import annotations

import pytest
from lllm_domain.errors import ParseError, PromptError
from lllm_domain.function import Function, MCPServer
from lllm_domain.prompt import Prompt, template_variables


def echo(text: str) -> str:
    """Echo the text."""
    return text


def test_render_fills_variables_from_args_and_kwargs() -> None:
    p = Prompt("p", "Hello {name}, {name}! Task: {task}. {{literal}}")
    assert p.variables == ("name", "task")
    assert p.render({"name": "Ann"}, task="sum") == "Hello Ann, Ann! Task: sum. {literal}"
    assert Prompt("q", "no variables {{x}}").render() == "no variables {x}"


def test_render_with_missing_variable_names_it() -> None:
    p = Prompt("greet", "Hello {name}, do {task}")
    with pytest.raises(PromptError) as info:
        p.render({"name": "Ann"})
    message = str(info.value)
    assert "prompt 'greet' is missing variable(s) 'task';" in message


def test_render_with_unlinked_function_is_an_error() -> None:
    p = Prompt("t", "go", functions=(Function("search", "Search", {"q": {"type": "string"}}),))
    with pytest.raises(PromptError, match=r"'search'.*not linked"):
        p.render()
    linked = p.link_function("search", echo)
    assert linked.render() == "go"
    assert p.functions[0].callable is None  # link returns a copy
    assert linked.functions[0].callable is echo


def test_link_function_with_unknown_name_lists_the_declared_ones() -> None:
    p = Prompt("t", "go", functions=(Function("search"),))
    with pytest.raises(PromptError, match=r"no function 'fetch'.*search"):
        p.link_function("fetch", echo)


def test_handler_prompts_inherit_parser_tags_format_and_functions() -> None:
    def parser(text: str, prompt: Prompt) -> str:
        return text.upper()

    fn = Function.from_callable(echo)
    mcp = MCPServer("docs", "https://mcp.example/sse")
    base = Prompt(
        "task",
        "Do {x}",
        functions=(fn,),
        mcp_servers=(mcp,),
        parser=parser,
        format={"type": "object"},
        xml_tags=("a",),
        md_tags=("py",),
        signal_tags=("DONE",),
        required_xml_tags=("a",),
        exception_prompt="Fix: {error_message}",
        interrupt_prompt="Results: {call_results}",
        interrupt_final_prompt="Last: {call_results}",
    )
    handlers = {
        "exception": (base.exception_handler, {"error_message": "E"}, "Fix: E"),
        "interrupt": (base.interrupt_handler, {"call_results": "R"}, "Results: R"),
        "final_interrupt": (base.final_interrupt_handler, {"call_results": "R"}, "Last: R"),
    }
    for suffix, (handler, args, rendered) in handlers.items():
        assert handler.path == f"task::{suffix}"
        assert handler.root_path == "task"
        assert handler.render(args) == rendered
        assert handler.parser is parser
        assert handler.parse("abc") == "ABC"
        assert handler.format == {"type": "object"}
        assert handler.functions == (fn,)
        assert handler.functions[0].callable is echo
        assert handler.mcp_servers == (mcp,)
        assert handler.tag_spec == base.tag_spec


def test_default_handler_templates_carry_their_variables() -> None:
    p = Prompt("p", "x")
    assert "BOOM" in p.exception_handler.render({"error_message": "BOOM"})
    assert p.interrupt_handler.render({"call_results": "42"}) == "42"
    final = p.final_interrupt_handler.render({"call_results": "42"})
    assert final.startswith("42") and "final response" in final


@pytest.mark.parametrize(
    ("field", "template", "needed"),
    [
        ("exception_prompt", "Try again.", "error_message"),
        ("interrupt_prompt", "Here: {results}", "call_results"),
        ("interrupt_final_prompt", "Done.", "call_results"),
    ],
)
def test_handler_templates_without_their_variable_are_rejected(
    field: str, template: str, needed: str
) -> None:
    with pytest.raises(PromptError, match=rf"prompt 'p': {field} must contain \{{{needed}\}}"):
        Prompt("p", "x", **{field: template})  # type: ignore[arg-type]


@pytest.mark.parametrize("template", ["{0}", "{}", "{a", "a}"])
def test_positional_or_malformed_templates_are_rejected(template: str) -> None:
    with pytest.raises(PromptError):
        Prompt("p", template)


def test_template_variables_use_base_names_in_order() -> None:
    assert template_variables("{b.x} {a[0]} {b}") == ("b", "a")


def test_empty_path_and_duplicate_functions_are_rejected() -> None:
    with pytest.raises(PromptError, match="non-empty path"):
        Prompt("", "x")
    with pytest.raises(PromptError, match=r"\['f'\] are declared twice"):
        Prompt("p", "x", functions=(Function("f"), Function("f")))


def test_structured_format_parses_json_into_attrs_class() -> None:
    from attrs import define

    @define(frozen=True)
    class Answer:
        value: int
        reason: str

    p = Prompt("s", "x", format=Answer)
    assert p.parse('{"value": 3, "reason": "sum"}') == Answer(3, "sum")
    with pytest.raises(ParseError, match="not valid JSON"):
        p.parse("three")
    with pytest.raises(ParseError, match="schema for Answer"):
        p.parse('{"value": 3}')
    assert Prompt("j", "x", format={"type": "object"}).parse('{"a": 1}') == {"a": 1}


def test_with_functions_and_function_lookup() -> None:
    p = Prompt("p", "x").with_functions(Function.from_callable(echo))
    assert p.function("echo") is p.functions[0]
    assert p.function("other") is None
    assert p.replace(template="y").template == "y"


def test_doubled_braces_render_as_literal_braces_with_or_without_variables() -> None:
    assert Prompt("p", 'Reply as JSON like {{"a": 1}}').render() == 'Reply as JSON like {"a": 1}'
    assert Prompt("p", '{{"a": {x}}}').render(x=1) == '{"a": 1}'


def test_literal_braces_are_caught_when_the_prompt_is_built() -> None:
    with pytest.raises(PromptError, match=r"double its braces as \{\{ and \}\}"):
        Prompt("x/task", 'Question: {q}. Reply as JSON like {"answer": 5}.')


def test_a_missing_variable_error_points_at_the_args_that_look_like_it() -> None:
    prompt = Prompt("x", "Add {a} and {b}")
    with pytest.raises(PromptError, match=r"unused arg\(s\) 'bb' \(did you mean 'bb' for 'b'\?\)"):
        prompt.render({"a": 2, "bb": 3})
    with pytest.raises(PromptError, match=r"did you mean 'A' for 'a', 'B' for 'b'"):
        prompt.render({"A": 2, "B": 3})
