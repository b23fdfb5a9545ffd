"""The default parser reads ported prompts as the original LLLM did (issue 12): listed tags are
required, nested Markdown fences come back whole, and a bare string for a tuple of tags is
refused when the prompt is built."""

from __future__ import annotations

import pytest
from lllm_domain.errors import ParseError, PromptError
from lllm_domain.parsing import TAG_ARGUMENTS, TagSpec, find_md_blocks, parse_tags
from lllm_domain.prompt import Prompt
from lllm_domain.testing import text

from tests.support.domain_builders import make_agent

# -- listed tags are required ------------------------------------------------------------------


def test_every_listed_xml_tag_is_required_by_default() -> None:
    prompt = Prompt("p", "Q", xml_tags=("answer", "reason"))
    with pytest.raises(ParseError) as info:
        prompt.parse("<answer>4</answer>")
    assert info.value.problems == (
        "Missing the required tag <reason>: write it as <reason>...</reason>",
    )


def test_every_listed_markdown_tag_is_required_by_default() -> None:
    prompt = Prompt("p", "Q", md_tags=("python",))
    with pytest.raises(ParseError) as info:
        prompt.parse("no code here")
    assert info.value.problems == (
        "Missing the required Markdown block `python`: write it as ```python\n...\n```",
    )


def test_optional_tags_are_collected_but_not_required() -> None:
    prompt = Prompt(
        "p",
        "Q",
        xml_tags=("answer", "note"),
        md_tags=("python",),
        optional_xml_tags=("note", "aside"),
        optional_md_tags=("python",),
    )
    parsed = prompt.parse("<answer>4</answer><aside>a</aside>")
    assert parsed["xml_tags"] == {"answer": ["4"], "note": [], "aside": ["a"]}
    assert parsed["md_tags"] == {"python": []}
    assert prompt.tag_spec.mandatory_xml_tags == ("answer",)
    assert prompt.tag_spec.mandatory_md_tags == ()


def test_required_tags_are_still_required_and_collected() -> None:
    prompt = Prompt("p", "Q", required_xml_tags=("answer",), required_md_tags=("sql",))
    with pytest.raises(ParseError, match=r"<answer>[\s\S]*```sql"):
        prompt.parse("nothing")
    parsed = prompt.parse("<answer>1</answer>\n```sql\nselect 1\n```")
    assert parsed["xml_tags"] == {"answer": ["1"]}
    assert parsed["md_tags"] == {"sql": ["select 1"]}


def test_a_tag_both_required_and_optional_is_refused_when_the_prompt_is_built() -> None:
    with pytest.raises(PromptError) as info:
        Prompt("p", "Q", required_xml_tags=("answer",), optional_xml_tags=("answer",))
    assert str(info.value) == (
        "prompt 'p': 'answer' listed in both required_xml_tags and optional_xml_tags; "
        "keep it in one of them"
    )


def test_a_reply_missing_a_listed_tag_makes_the_agent_call_ask_again() -> None:
    prompt = Prompt("p", "Question: {question}", xml_tags=("answer", "reason"))
    agent, caller, _ = make_agent(
        [text("<answer>4</answer>"), text("<answer>4</answer><reason>2+2</reason>")]
    )
    result = agent.call(agent.init_dialog(), prompt, {"question": "2+2?"})
    assert result.parsed["xml_tags"] == {"answer": ["4"], "reason": ["2+2"]}
    retry = caller.requests[1].messages[-1].content
    assert "Missing the required tag <reason>: write it as <reason>...</reason>" in retry


# -- nested Markdown fences --------------------------------------------------------------------

NESTED = """Here is the README:
```markdown
# title

```python
print("hi")
```

More text.
```
Done."""


def test_a_fence_holding_nested_fences_comes_back_whole() -> None:
    parsed = Prompt("p", "Q", md_tags=("markdown",)).parse(NESTED)
    assert parsed["md_tags"]["markdown"] == ['# title\n\n```python\nprint("hi")\n```\n\nMore text.']


def test_a_fence_nested_in_another_is_not_an_outer_block() -> None:
    spec = TagSpec(md_tags=("markdown",), optional_md_tags=("python",))
    assert parse_tags(NESTED, spec)["md_tags"]["python"] == []


def test_a_longer_backtick_run_holds_bare_fences() -> None:
    reply = "````markdown\nUse\n```\nplain\n```\nfences.\n````\n```json\n{}\n```"
    assert find_md_blocks(reply, "markdown") == ["Use\n```\nplain\n```\nfences."]
    assert find_md_blocks(reply, "json") == ["{}"]


def test_a_fence_never_closed_does_not_hide_the_blocks_after_it() -> None:
    # The original drops them (they sit inside the unclosed fence); we keep them.
    reply = "Wrap code in ```python fences, like this:\n```python\nx = 1\n```"
    assert find_md_blocks(reply, "python") == ["x = 1"]


def test_the_fence_tag_is_the_whole_word_and_the_rest_of_the_line_is_not_content() -> None:
    reply = "```pythonic\nno\n```\n```python title.py\nyes\n```"
    assert find_md_blocks(reply, "python") == ["yes"]


# -- a tuple of tags, not a string -------------------------------------------------------------


@pytest.mark.parametrize("argument", TAG_ARGUMENTS)
def test_a_bare_string_for_a_tuple_of_tags_is_refused_naming_the_argument(argument: str) -> None:
    with pytest.raises(PromptError) as info:
        Prompt("ported/task", "Q", **{argument: "answer"})
    assert str(info.value) == (
        f"prompt 'ported/task': {argument}='answer' is a single string, not a tuple of tag "
        f"names; write {argument}=('answer',) (a one-tag tuple needs the trailing comma)"
    )


@pytest.mark.parametrize("argument", TAG_ARGUMENTS)
def test_a_bare_string_is_refused_by_the_tag_spec_too(argument: str) -> None:
    with pytest.raises(PromptError, match=rf"^{argument}='answer' is a single string"):
        TagSpec(**{argument: "answer"})


@pytest.mark.parametrize("bad", [("",), ("final answer",), ("a", 3), ("<answer>",), 7])
def test_a_tag_that_can_never_match_is_refused(bad: object) -> None:
    with pytest.raises(PromptError, match=r"^prompt 'p': xml_tags "):
        Prompt("p", "Q", xml_tags=bad)  # type: ignore[arg-type]


def test_tag_lists_from_ported_code_are_kept_as_tuples() -> None:
    prompt = Prompt("p", "Q", xml_tags=["answer"], signal_tags=["DONE"])  # type: ignore[arg-type]
    assert prompt.xml_tags == ("answer",)
    assert prompt.signal_tags == ("DONE",)
    assert prompt.parse("<answer>1</answer><DONE>")["signal_tags"] == {"DONE": True}
