"""The default parser: XML tags, Markdown fences, signal tags, required tags."""

from __future__ import annotations

import re

import pytest
from attrs import define
from hypothesis import given
from hypothesis import strategies as st
from lllm_domain import parsing
from lllm_domain.errors import ParseError
from lllm_domain.parsing import TagSpec, find_md_blocks, find_xml_blocks, parse_tags
from lllm_domain.prompt import Prompt, default_parser

from tests.support.domain_builders import PROPERTY


def test_collects_every_xml_block_and_markdown_fence() -> None:
    reply = (
        "Thinking...\n<answer> 42 </answer>\n<answer>43</answer>\n"
        "```python\nprint(1)\n```\nand\n```python  \nprint(2)\n```\n<note>n</note>"
    )
    spec = TagSpec(
        xml_tags=("answer", "missing"), md_tags=("python",), optional_xml_tags=("missing",)
    )
    parsed = parse_tags(reply, spec)
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
        missing = [t for t in spec.mandatory_xml_tags if f"<{t}>...</{t}>" in str(exc)]
        missing_md = [t for t in spec.mandatory_md_tags if f"```{t}\n...\n```" in str(exc)]
        assert len(exc.problems) == len(missing) + len(missing_md) > 0
    else:
        for tag in spec.mandatory_xml_tags:
            assert parsed["xml_tags"][tag]
        for tag in spec.mandatory_md_tags:
            assert parsed["md_tags"][tag]
        assert parsed["signal_tags"]["A"] == ("<A>" in reply)


# -- agreement with simple references ----------------------------------------------------------


def reference_xml_blocks(reply: str, tag: str) -> list[str]:
    """The first parser's regex: right, but quadratic on unclosed tags."""
    pattern = rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>"
    return [block.strip() for block in re.findall(pattern, reply, re.DOTALL)]


XML_PIECES = st.sampled_from(
    ["<a>", "</a>", "<a", "a>", "</a", "<b>", "</b>", "<<a>>", "x", " ", "\n"]
)


@PROPERTY
@given(reply=st.lists(XML_PIECES, max_size=40).map("".join) | st.text(max_size=120))
def test_xml_blocks_agree_with_the_regex_reference_on_any_reply(reply: str) -> None:
    # Both scans: the find walk (few closing tags) and the bounded regex (many).
    for walk_limit in (10**9, 0):
        saved = parsing._FIND_WALK_MAX_BLOCKS
        parsing._FIND_WALK_MAX_BLOCKS = walk_limit
        try:
            for tag in ("a", "b"):
                assert find_xml_blocks(reply, tag) == reference_xml_blocks(reply, tag)
        finally:
            parsing._FIND_WALK_MAX_BLOCKS = saved


PLAIN = st.text(
    alphabet=st.characters(exclude_characters="`", exclude_categories=("Cs",)), max_size=12
)
FENCE_TAGS = ("python", "md", "json", "a")


@define(frozen=True)
class Fence:
    """A well-formed fence: ``ticks`` backticks, a tag, and what it holds."""

    ticks: int
    tag: str
    children: tuple[str | Fence, ...]
    bare: bool
    """Whether it starts with a bare ``` fence (only inside a longer run is that well-formed)."""

    def body(self) -> str:
        inner = "".join(render(child) for child in self.children)
        if self.bare and self.ticks > 3:
            inner = "```\nbare\n```\n" + inner
        return inner

    def render(self) -> str:
        run = "`" * self.ticks
        return f"{run}{self.tag}\n{self.body()}\n{run}\n"


def render(node: str | Fence) -> str:
    return node if isinstance(node, str) else node.render()


def fences_of(children: st.SearchStrategy[str | Fence]) -> st.SearchStrategy[Fence]:
    return st.builds(
        Fence,
        ticks=st.sampled_from([3, 4]),
        tag=st.sampled_from(FENCE_TAGS),
        children=st.lists(children, max_size=3).map(tuple),
        bare=st.booleans(),
    )


NODES = st.lists(st.recursive(PLAIN, fences_of, max_leaves=8), max_size=5)


@PROPERTY
@given(nodes=NODES)
def test_outermost_fences_come_back_whole_however_they_nest(nodes: list[str | Fence]) -> None:
    reply = "".join(render(node) for node in nodes)
    for tag in FENCE_TAGS:
        expected = [n.body().strip() for n in nodes if isinstance(n, Fence) and n.tag == tag]
        assert find_md_blocks(reply, tag) == expected


FLAT = st.lists(
    PLAIN
    | st.builds(Fence, st.just(3), st.sampled_from(FENCE_TAGS), st.tuples(PLAIN), st.just(False)),
    max_size=6,
)


@PROPERTY
@given(nodes=FLAT)
def test_flat_fences_agree_with_the_first_parsers_regex(nodes: list[str | Fence]) -> None:
    reply = "".join(render(node) for node in nodes)
    for tag in FENCE_TAGS:
        pattern = rf"```{tag}[ \t]*\r?\n(.*?)```"
        reference = [b.strip() for b in re.findall(pattern, reply, re.DOTALL)]
        assert find_md_blocks(reply, tag) == reference
