"""Hostile replies for the default parser: each must end promptly with a correct result or one
typed ParseError, whatever the reply holds (issue 11: the parser was quadratic).

Each parse runs in a forked process with a generous deadline, so a parser that hangs fails the
test instead of hanging the suite (a regular expression holds the GIL, so a thread cannot
time it out). The deadline is a guard, not a timing assertion: the sizes are chosen so that a
linear parser needs well under a second and the old quadratic one needed many minutes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

import pytest
from lllm_domain.errors import ParseError
from lllm_domain.parsing import (
    MAX_FENCE_MARKERS,
    TagSpec,
    find_md_blocks,
    find_xml_blocks,
    parse_tags,
)
from lllm_domain.prompt import Prompt

MB = 1_000_000
DEADLINE_S = 60.0


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except ParseError as exc:
        conn.send(("parse_error", exc.problems))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))


def within_deadline(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Run ``fn(*args)`` in a forked process; fail the test if it has not finished in time."""
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(sender, fn, args), daemon=True)
    proc.start()
    sender.close()
    try:
        if not receiver.poll(DEADLINE_S):
            pytest.fail(f"{fn.__name__} did not finish within {DEADLINE_S:.0f}s")
        outcome: tuple[str, Any] = receiver.recv()
    finally:
        proc.kill()
        proc.join()
    assert outcome[0] != "error", outcome[1]
    return outcome


def test_many_unclosed_xml_tags_end_in_one_parse_error_with_the_not_closed_hint() -> None:
    reply = "<answer>" * (MB // len("<answer>"))
    kind, problems = within_deadline(parse_tags, reply, TagSpec(xml_tags=("answer",)))
    assert kind == "parse_error"
    assert problems == ("The <answer> tag is not closed: write it as <answer>...</answer>",)


def test_unclosed_tags_separated_by_text_are_linear_too() -> None:
    reply = ("<answer> the answer is " + "x" * 80) * (MB // 100)
    kind, problems = within_deadline(parse_tags, reply, TagSpec(xml_tags=("answer", "note")))
    assert kind == "parse_error"
    assert problems == (
        "The <answer> tag is not closed: write it as <answer>...</answer>",
        "Missing the required tag <note>: write it as <note>...</note>",
    )


def test_many_opening_tags_and_one_closing_tag_give_one_block() -> None:
    reply = "<answer>" * (MB // len("<answer>")) + "42</answer>"
    kind, blocks = within_deadline(find_xml_blocks, reply, "answer")
    assert kind == "ok"
    assert len(blocks) == 1
    assert blocks[0].endswith("<answer>42")


def test_many_closed_tags_are_all_collected() -> None:
    reply = "<a>1</a>" * (MB // len("<a>1</a>"))
    kind, blocks = within_deadline(find_xml_blocks, reply, "a")
    assert kind == "ok"
    assert blocks == ["1"] * (MB // len("<a>1</a>"))


def test_many_unclosed_fences_end_in_one_parse_error() -> None:
    reply = "```python\n" * (MAX_FENCE_MARKERS // 2) + "x" * MB
    kind, problems = within_deadline(parse_tags, reply, TagSpec(md_tags=("python",)))
    assert kind == "parse_error"
    assert problems == ("The ```python block is not closed: write it as ```python\n...\n```",)


def test_fences_nested_as_deep_as_the_marker_limit_allows_come_back_whole() -> None:
    depth = MAX_FENCE_MARKERS // 2
    reply = "```md\n" * depth + "x\n" + "```\n" * depth
    kind, blocks = within_deadline(find_md_blocks, reply, "md")
    assert kind == "ok"
    assert len(blocks) == 1
    assert blocks[0].startswith("```md\n```md") and blocks[0].endswith("```\n```")
    assert blocks[0].count("```md") == depth - 1


@pytest.mark.parametrize(
    "unit", ["```python\n", "```\n", "```python\nx\n```\n", "``` ```` `` "], ids=repr
)
def test_a_megabyte_of_fence_markers_is_one_parse_error_naming_the_limit(unit: str) -> None:
    reply = "```python\n" + unit * (MB // len(unit))
    kind, problems = within_deadline(parse_tags, reply, TagSpec(md_tags=("python",)))
    assert kind == "parse_error"
    (problem,) = problems
    assert f"more than the {MAX_FENCE_MARKERS:,} the parser reads" in problem
    assert "```python\n...\n```" in problem


def test_fence_markers_do_not_matter_to_a_prompt_without_markdown_tags() -> None:
    reply = "```python\n" * (MB // 10) + "<answer>4</answer>"
    kind, parsed = within_deadline(parse_tags, reply, TagSpec(xml_tags=("answer",)))
    assert kind == "ok"
    assert parsed["xml_tags"] == {"answer": ["4"]}


def test_bare_fences_and_backtick_runs_below_the_limit() -> None:
    reply = ("``` ```` `` " * (MAX_FENCE_MARKERS // 3)) + "```json\n{}\n```\n" + "x" * MB
    kind, parsed = within_deadline(parse_tags, reply, TagSpec(md_tags=("json",)))
    assert kind == "ok"
    assert parsed["md_tags"] == {"json": ["{}"]}


def test_tags_inside_fences_inside_tags_in_bulk() -> None:
    spec = TagSpec(xml_tags=("answer",), md_tags=("python",))
    below_limit = "<answer>```python\n" * MAX_FENCE_MARKERS + "x" * MB
    kind, problems = within_deadline(parse_tags, below_limit, spec)
    assert kind == "parse_error"
    assert problems == (
        "The <answer> tag is not closed: write it as <answer>...</answer>",
        "The ```python block is not closed: write it as ```python\n...\n```",
    )
    above_limit = "<answer>```python\n" * (MB // 18)
    kind, problems = within_deadline(parse_tags, above_limit, spec)
    assert kind == "parse_error"
    assert problems[0] == "The <answer> tag is not closed: write it as <answer>...</answer>"
    assert "fence markers, more than the" in problems[1]


def test_signal_tag_like_noise_is_not_a_signal() -> None:
    reply = "<DONE <DONE/> </DONE> <DON>E> <done> " * (MB // 37)
    kind, parsed = within_deadline(
        parse_tags, reply, TagSpec(signal_tags=("DONE",), optional_xml_tags=("DONE",))
    )
    assert kind == "ok"
    assert parsed["signal_tags"] == {"DONE": False}
    assert parsed["xml_tags"] == {"DONE": []}


def test_a_prompt_parses_a_five_megabyte_adversarial_reply() -> None:
    prompt = Prompt("hostile", "Answer.", xml_tags=("answer",), md_tags=("python",))
    reply = "<answer>```python\n<answer" * (5 * MB // 25)
    kind, problems = within_deadline(prompt.parse, reply)
    assert kind == "parse_error"
    assert len(problems) == 2
