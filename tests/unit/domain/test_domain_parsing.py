"""The default parser: XML tags, Markdown fences, signal tags, required tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain.errors import ParseError
from lllm_domain.parsing import TagSpec, parse_tags
from lllm_domain.prompt import Prompt, default_parser

from tests.support.domain_builders import PROPERTY


def test_collects_every_xml_block_and_markdown_fence() -> None:
    reply = (
        "Thinking...\n<answer> 42 </answer>\n<answer>43</answer>\n"
        "```python\nprint(1)\n```\nand\n```python  \nprint(2)\n```\n<note>n</note>"
    )
    parsed = parse_tags(reply, TagSpec(xml_tags=("answer", "missing"), md_tags=("python",)))
    assert parsed["raw"] == reply
    assert parsed["xml_tags"] == {"answer": ["42", "43"], "missing": []}
    assert parsed["md_tags"] == {"python": ["print(1)", "print(2)"]}
    assert parsed["signal_tags"] == {}


def test_signal_tags_are_flagged_present_or_absent() -> None:
    parsed = parse_tags("All good. <DONE>", TagSpec(signal_tags=("DONE", "RETRY")))
    assert parsed["signal_tags"] == {"DONE": True, "RETRY": False}


def test_one_parse_error_lists_every_missing_tag_with_its_form() -> None:
    spec = TagSpec(
        required_xml_tags=("answer", "reason", "ok"),
        required_md_tags=("python", "sql"),
    )
    with pytest.raises(ParseError) as info:
        parse_tags("<reason>because</reason> <answer>unclosed ```sql\nselect 1\n```", spec)
    problems = info.value.problems
    assert problems == (
        "The <answer> tag is not closed: write it as <answer>...</answer>",
        "Missing the required tag <ok>: write it as <ok>...</ok>",
        "Missing the required Markdown block `python`: write it as ```python\n...\n```",
    )
    assert str(info.value) == "\n".join(problems)


def test_required_tags_are_also_collected() -> None:
    parsed = parse_tags(
        "<a>1</a>```b\n2\n```", TagSpec(required_xml_tags=("a",), required_md_tags=("b",))
    )
    assert parsed["xml_tags"] == {"a": ["1"]}
    assert parsed["md_tags"] == {"b": ["2"]}


def test_default_parser_uses_the_prompts_tags() -> None:
    p = Prompt("p", "x", xml_tags=("a",), signal_tags=("STOP",))
    assert default_parser("<a>1</a><STOP>", p)["signal_tags"] == {"STOP": True}
    assert default_parser("plain", Prompt("q", "x")) == {"raw": "plain"}


SAFE_TEXT = st.text(alphabet=st.characters(exclude_characters="<`"), max_size=80)
TAG = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)


@PROPERTY
@given(body=SAFE_TEXT, tag=TAG, before=SAFE_TEXT, after=SAFE_TEXT)
def test_any_text_wrapped_in_a_tag_is_recovered_exactly(
    body: str, tag: str, before: str, after: str
) -> None:
    reply = f"{before}<{tag}>{body}</{tag}>{after}"
    parsed = parse_tags(reply, TagSpec(required_xml_tags=(tag,)))
    assert parsed["xml_tags"][tag] == [body.strip()]


@PROPERTY
@given(body=SAFE_TEXT, tag=TAG)
def test_any_text_in_a_fence_is_recovered_exactly(body: str, tag: str) -> None:
    parsed = parse_tags(f"```{tag}\n{body}```", TagSpec(required_md_tags=(tag,)))
    assert parsed["md_tags"][tag] == [body.strip()]


@PROPERTY
@given(
    reply=st.text(max_size=200)
    | st.lists(
        st.sampled_from(["<a>", "</a>", "<b>", "</b>", "```a\n", "```", "x", "\n", "<A>"]),
        max_size=30,
    ).map("".join),
    xml=st.lists(TAG | st.sampled_from(["a", "b", ".*", "a|b"]), max_size=3),
    required=st.lists(st.sampled_from(["a", "b", "(", "c"]), max_size=3),
    md_required=st.lists(st.sampled_from(["a", "b", "?"]), max_size=2),
)
def test_parse_raises_nothing_but_parse_error_and_reports_each_missing_tag(
    reply: str, xml: list[str], required: list[str], md_required: list[str]
) -> None:
    spec = TagSpec(
        xml_tags=tuple(xml),
        signal_tags=("A",),
        required_xml_tags=tuple(dict.fromkeys(required)),
        required_md_tags=tuple(dict.fromkeys(md_required)),
    )
    try:
        parsed = parse_tags(reply, spec)
    except ParseError as exc:
        missing = [t for t in spec.required_xml_tags if f"<{t}>...</{t}>" in str(exc)]
        missing_md = [t for t in spec.required_md_tags if f"```{t}\n...\n```" in str(exc)]
        assert len(exc.problems) == len(missing) + len(missing_md) > 0
    else:
        for tag in spec.required_xml_tags:
            assert parsed["xml_tags"][tag]
        for tag in spec.required_md_tags:
            assert parsed["md_tags"][tag]
        assert parsed["signal_tags"]["A"] == ("<A>" in reply)
