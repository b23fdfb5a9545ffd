"""The default output parser: XML tags, Markdown fences, signal tags and which of them a reply
must hold.

Rules (see docs/parsing.md):

- ``<tag>...</tag>``: every block, in order; a block ends at the first ``</tag>`` after its
  ``<tag>``. Contents are stripped.
- Markdown fences are nesting-aware, as in the original LLLM's ``find_md_blocks``: a run of three
  or more backticks directly followed by a word opens a fence whose tag is that word (the rest of
  the line is its info string); a run followed by whitespace or the end of the reply closes the
  innermost open fence if it is at least as long as that fence's opening run. Only outermost
  blocks are returned, whole, nested fences included. A fence never closed does not hide the
  complete blocks after it.
- A signal tag is present when ``<TAG>`` occurs anywhere in the reply.

Every scan is linear in the reply's length, whatever the reply holds (no regular expression is
run where it could backtrack over the rest of the reply once per opening tag).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from attrs import define, field

from lllm_domain.errors import ParseError, PromptError

TAG_ARGUMENTS = (
    "xml_tags",
    "md_tags",
    "signal_tags",
    "required_xml_tags",
    "required_md_tags",
    "optional_xml_tags",
    "optional_md_tags",
)
"""The prompt / :class:`TagSpec` arguments that take a tuple of tag names."""

_NOT_IN_A_TAG = re.compile(r"[\s<>`]")


def tag_tuple(argument: str, value: object) -> tuple[str, ...]:
    """``value`` (any iterable of tag names) as a tuple, or a :class:`PromptError` that names
    ``argument`` and the fix.

    A bare string is refused: ``("answer")`` without the trailing comma is the string
    ``"answer"``, which would otherwise be read as the tags ``a``, ``n``, ``s``, ...
    """
    if isinstance(value, str | bytes):
        raise PromptError(
            f"{argument}={value!r} is a single string, not a tuple of tag names; "
            f"write {argument}=({value!r},) (a one-tag tuple needs the trailing comma)"
        )
    if not isinstance(value, Iterable):
        raise PromptError(
            f"{argument} must be a tuple of tag names, not {type(value).__name__} {value!r}; "
            f"write e.g. {argument}=('answer',)"
        )
    tags = tuple(value)
    for tag in tags:
        if not isinstance(tag, str) or not tag or _NOT_IN_A_TAG.search(tag):
            raise PromptError(
                f"{argument} holds {tag!r}, which is not a tag name: use non-empty names "
                "without spaces, '<', '>' or backticks, e.g. ('answer',)"
            )
    return tags


def _merge(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tag for group in groups for tag in group))


@define(frozen=True, slots=True)
class TagSpec:
    """What the default parser looks for in a reply, and what a reply must hold.

    As in the original LLLM, every tag listed in ``xml_tags`` / ``md_tags`` is required: a reply
    without it is a :class:`ParseError` (and the agent call asks again). List a tag in
    ``optional_xml_tags`` / ``optional_md_tags`` to collect it without requiring it (it may be
    listed in ``xml_tags`` / ``md_tags`` as well). ``required_*`` tags are required too, so code
    written for listed-tags-optional keeps working; a tag both required and optional is an
    error. Signal tags are never required.
    """

    xml_tags: tuple[str, ...] = ()
    md_tags: tuple[str, ...] = ()
    signal_tags: tuple[str, ...] = ()
    required_xml_tags: tuple[str, ...] = ()
    required_md_tags: tuple[str, ...] = ()
    optional_xml_tags: tuple[str, ...] = ()
    optional_md_tags: tuple[str, ...] = ()
    collected_xml_tags: tuple[str, ...] = field(init=False, eq=False)
    """Every XML tag the parser collects (listed, required or optional), in order."""
    collected_md_tags: tuple[str, ...] = field(init=False, eq=False)
    """Every Markdown fence tag the parser collects, in order."""
    mandatory_xml_tags: tuple[str, ...] = field(init=False, eq=False)
    """The XML tags a reply must hold: listed or required, and not optional."""
    mandatory_md_tags: tuple[str, ...] = field(init=False, eq=False)
    """The Markdown fence tags a reply must hold: listed or required, and not optional."""

    def __attrs_post_init__(self) -> None:
        for name in TAG_ARGUMENTS:
            object.__setattr__(self, name, tag_tuple(name, getattr(self, name)))
        for kind, required, optional in (
            ("xml", self.required_xml_tags, self.optional_xml_tags),
            ("md", self.required_md_tags, self.optional_md_tags),
        ):
            both = [tag for tag in required if tag in optional]
            if both:
                raise PromptError(
                    f"{', '.join(map(repr, both))} listed in both required_{kind}_tags and "
                    f"optional_{kind}_tags; keep it in one of them"
                )
        object.__setattr__(
            self,
            "collected_xml_tags",
            _merge(self.xml_tags, self.required_xml_tags, self.optional_xml_tags),
        )
        object.__setattr__(
            self,
            "collected_md_tags",
            _merge(self.md_tags, self.required_md_tags, self.optional_md_tags),
        )
        object.__setattr__(
            self,
            "mandatory_xml_tags",
            tuple(
                t
                for t in _merge(self.xml_tags, self.required_xml_tags)
                if t not in self.optional_xml_tags
            ),
        )
        object.__setattr__(
            self,
            "mandatory_md_tags",
            tuple(
                t
                for t in _merge(self.md_tags, self.required_md_tags)
                if t not in self.optional_md_tags
            ),
        )

    @property
    def is_empty(self) -> bool:
        """Whether the parser has no tag to look for."""
        return not (self.collected_xml_tags or self.collected_md_tags or self.signal_tags)


@lru_cache(maxsize=512)
def _xml_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL)


def find_xml_blocks(text: str, tag: str) -> list[str]:
    """The stripped contents of every ``<tag>...</tag>`` block in ``text``, in order.

    A block ends at the first ``</tag>`` after its ``<tag>``. Linear in ``len(text)``, by one of
    two scans that give the same blocks: with few closing tags, a ``str.find`` walk (a step per
    block); with many, the regular expression, stopped at the last closing tag so that no
    opening tag is ever followed by a fruitless scan to the end of the reply.
    """
    closing = f"</{tag}>"
    closings = text.count(closing)
    if closings == 0:
        return []
    if closings <= _FIND_WALK_MAX_BLOCKS:
        return _xml_blocks_by_find(text, f"<{tag}>", closing)
    last = text.rfind(closing)
    return list(map(str.strip, _xml_pattern(tag).findall(text, 0, last + len(closing))))


_FIND_WALK_MAX_BLOCKS = 1_000
"""Up to this many closing tags the find walk is quickest; past it the regex's C loop is (the
walk pays Python work per block, the regex per ``<`` inside a block)."""


def _xml_blocks_by_find(text: str, opening: str, closing: str) -> list[str]:
    blocks: list[str] = []
    start = text.find(opening)
    while start != -1:
        body = start + len(opening)
        end = text.find(closing, body)
        if end == -1:
            break
        blocks.append(text[body:end].strip())
        start = text.find(opening, end + len(closing))
    return blocks


# Spelled with a literal "```" prefix so the regex engine skips to each run at full speed.
_FENCE_RUN = re.compile(r"```(`*)([^\s`]*)")

MAX_FENCE_MARKERS = 10_000
"""The most triple-backtick markers a reply may hold for its Markdown fences to be read.

Matching nested fences needs a step per marker; a reply with more (no model writes 5,000 code
blocks in one answer) is refused with a :class:`ParseError` in a few milliseconds, so the worst
case stays a small fraction of a second whatever the reply holds."""


def _fences(text: str) -> tuple[list[tuple[str, int, int]], list[str]]:
    """The outermost fenced blocks as ``(tag, start, end)`` (``text[start:end]`` runs from the
    end of the opening word to the closing run), in order; and the tags of fences never closed.

    One pass over the backtick runs with a stack. ``blocks[mark:]`` holds the blocks closed since
    an opening run was pushed: when that run closes they are nested in it and are dropped, so
    whatever is left at the end is outermost (a fence never closed hides nothing).
    """
    stack: list[tuple[int, int, str, int]] = []  # (mark, backticks beyond 3, tag, start)
    blocks: list[tuple[str, int, int]] = []
    for match in _FENCE_RUN.finditer(text):
        extra, word = match.groups()
        if word:
            stack.append((len(blocks), len(extra), word, match.end()))
        elif stack and len(extra) >= stack[-1][1]:
            mark, _, tag, start = stack.pop()
            del blocks[mark:]
            blocks.append((tag, start, match.start()))
    return blocks, [tag for _, _, tag, _ in stack]


def _fence_body(text: str, start: int, end: int) -> str:
    newline = text.find("\n", start, end)
    # The rest of the opening line is the fence's info string, not its content.
    return text[start if newline == -1 else newline + 1 : end].strip()


def _md_blocks(text: str, tags: Sequence[str]) -> tuple[dict[str, list[str]], set[str], str | None]:
    """The blocks of each of ``tags``, the tags whose fence was opened and never closed, and the
    problem that stopped the scan (too many markers), if any."""
    found: dict[str, list[str]] = {tag: [] for tag in tags}
    if not any(f"```{tag}" in text for tag in tags):
        return found, set(), None  # no fence of these tags can open: skip the scan
    markers = text.count("```")
    if markers > MAX_FENCE_MARKERS:
        forms = " or ".join(f"```{tag}\n...\n```" for tag in tags)
        return (
            found,
            set(),
            f"The reply holds {markers:,} ``` fence markers, more than the "
            f"{MAX_FENCE_MARKERS:,} the parser reads: answer with far fewer code blocks, "
            f"written as {forms}",
        )
    blocks, unclosed = _fences(text)
    for tag, start, end in blocks:
        if tag in found:
            found[tag].append(_fence_body(text, start, end))
    return found, {tag for tag in unclosed if tag in found}, None


def find_md_blocks(text: str, tag: str) -> list[str]:
    """The stripped contents of every outermost Markdown fence tagged ``tag``, nested fences
    included, in order. Linear in ``len(text)``; raises :class:`ParseError` when the reply holds
    more than :data:`MAX_FENCE_MARKERS` fence markers."""
    found, _, problem = _md_blocks(text, (tag,))
    if problem is not None:
        raise ParseError(problem)
    return found[tag]


def parse_tags(text: str, spec: TagSpec) -> dict[str, Any]:
    """Parse ``text`` by ``spec``.

    Returns ``{"raw": text, "xml_tags": {tag: [blocks]}, "md_tags": {tag: [blocks]},
    "signal_tags": {tag: bool}}``. Raises one :class:`ParseError` listing every mandatory tag that
    is missing, each with the exact form the model should use (and saying when the tag was
    opened but never closed).
    """
    xml = {tag: find_xml_blocks(text, tag) for tag in spec.collected_xml_tags}
    md, unclosed_md, md_problem = _md_blocks(text, spec.collected_md_tags)
    signals = {tag: f"<{tag}>" in text for tag in spec.signal_tags}
    problems: list[str] = []
    for tag in spec.mandatory_xml_tags:
        if xml[tag]:
            continue
        if f"<{tag}>" in text:
            problems.append(f"The <{tag}> tag is not closed: write it as <{tag}>...</{tag}>")
        else:
            problems.append(f"Missing the required tag <{tag}>: write it as <{tag}>...</{tag}>")
    if md_problem is not None:
        problems.append(md_problem)
    for tag in () if md_problem is not None else spec.mandatory_md_tags:
        if md[tag]:
            continue
        if tag in unclosed_md:
            problems.append(f"The ```{tag} block is not closed: write it as ```{tag}\n...\n```")
        else:
            problems.append(
                f"Missing the required Markdown block `{tag}`: write it as ```{tag}\n...\n```"
            )
    if problems:
        raise ParseError(problems)
    return {"raw": text, "xml_tags": xml, "md_tags": md, "signal_tags": signals}
