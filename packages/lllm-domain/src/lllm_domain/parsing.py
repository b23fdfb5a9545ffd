"""The default output parser: XML tags, Markdown fences, signal tags and required tags."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from attrs import define

from lllm_domain.errors import ParseError


@define(frozen=True, slots=True)
class TagSpec:
    """What the default parser looks for in a reply."""

    xml_tags: tuple[str, ...] = ()
    md_tags: tuple[str, ...] = ()
    signal_tags: tuple[str, ...] = ()
    required_xml_tags: tuple[str, ...] = ()
    required_md_tags: tuple[str, ...] = ()


@lru_cache(maxsize=512)
def _xml_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL)


@lru_cache(maxsize=512)
def _md_pattern(tag: str) -> re.Pattern[str]:
    return re.compile(rf"```{re.escape(tag)}[ \t]*\r?\n(.*?)```", re.DOTALL)


def _strip_block(text: str) -> str:
    return text.strip()


def parse_tags(text: str, spec: TagSpec) -> dict[str, Any]:
    """Parse ``text`` by ``spec``.

    Returns ``{"raw": text, "xml_tags": {tag: [blocks]}, "md_tags": {tag: [blocks]},
    "signal_tags": {tag: bool}}``. Raises one :class:`ParseError` listing every required tag that
    is missing, each with the exact form the model should use.
    """
    xml_tags = dict.fromkeys((*spec.xml_tags, *spec.required_xml_tags))
    md_tags = dict.fromkeys((*spec.md_tags, *spec.required_md_tags))
    xml = {tag: [_strip_block(m) for m in _xml_pattern(tag).findall(text)] for tag in xml_tags}
    md = {tag: [_strip_block(m) for m in _md_pattern(tag).findall(text)] for tag in md_tags}
    signals = {tag: f"<{tag}>" in text for tag in spec.signal_tags}
    problems = _missing(xml, spec.required_xml_tags, text, md=False)
    problems += _missing(md, spec.required_md_tags, text, md=True)
    if problems:
        raise ParseError(problems)
    return {"raw": text, "xml_tags": xml, "md_tags": md, "signal_tags": signals}


def _missing(
    found: dict[str, list[str]], required: Iterable[str], text: str, *, md: bool
) -> list[str]:
    problems = []
    for tag in required:
        if found.get(tag):
            continue
        if md:
            problems.append(
                f"Missing the required Markdown block `{tag}`: write it as ```{tag}\n...\n```"
            )
        elif (_xml_pattern(tag).search(text) is None) and f"<{tag}>" in text:
            problems.append(f"The <{tag}> tag is not closed: write it as <{tag}>...</{tag}>")
        else:
            problems.append(f"Missing the required tag <{tag}>: write it as <{tag}>...</{tag}>")
    return problems
