"""A YAML loader for configuration files that refuses hostile input up front.

PyYAML's safe loader is safe from code execution but not from blow-ups: nine lines of aliases
expand to 387 million values ("billion laughs"), an alias may contain itself, ten thousand
``[`` exhaust Python's recursion limit, and values such as a 5,000-digit integer or the date
``2024-13-45`` escape as a bare ``ValueError``. It also keeps the last of two equal keys
silently. This loader, a subclass of :class:`yaml.SafeLoader`, checks each of these while the
document is composed (so a bomb stops after a few thousand values, not after expanding them)
and raises :class:`ConfigYAMLError` with the line at fault.

The events come from libyaml's parser when PyYAML has it (its scanner is linear where the
pure-Python one looks 1,024 characters ahead at every ``[``, which costs seconds on a line of
brackets, and it is about ten times faster); otherwise from PyYAML's own parser. Composing and
constructing, where the limits live, are the same Python code either way.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from lllm_adapters.config.source import MAX_DEPTH
from lllm_adapters.extras import requires_extra

with requires_extra("yaml", "lllm_adapters.config.yaml_loader"):
    import yaml
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.events import AliasEvent
    from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.resolver import Resolver
    from yaml.scanner import Scanner

MAX_ALIAS_VALUES = 100_000
"""How many values aliases (``*name``) may add to a document beyond those written in it."""
MAX_ALIAS_CHARS = 1_000_000
"""How many characters of text aliases may add to a document beyond those written in it."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigYAMLError(yaml.YAMLError):
    """A YAML document that parses but is refused: too deep, too large once its aliases are
    expanded, an alias inside itself, a duplicate key, or a value Python cannot hold.

    ``line`` is 1-based, or ``None`` when unknown.
    """

    def __init__(self, message: str, mark: yaml.Mark | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = None if mark is None else mark.line + 1


class _Size:
    """A node's size once its aliases are expanded, and how much of it is written in the file."""

    __slots__ = ("chars", "values")

    def __init__(self, values: int, chars: int) -> None:
        self.values = values
        self.chars = chars


class _Limits(Composer, SafeConstructor):
    """The composer and constructor of :class:`yaml.SafeLoader` with the limits of
    :mod:`lllm_adapters.config.yaml_loader`; a parser class supplies the events."""

    def __init__(self) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        self._depth = 0
        self._written = _Size(0, 0)
        self._sizes: dict[int, _Size] = {}

    if TYPE_CHECKING:  # supplied by the parser class mixed in

        def check_event(self, *choices: Any) -> bool: ...
        def peek_event(self) -> Any: ...
        def dispose(self) -> None: ...

    def _peek(self) -> Any:
        return self.peek_event()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, refusing too deep nesting, self-containing aliases and alias
        expansion beyond :data:`MAX_ALIAS_VALUES` / :data:`MAX_ALIAS_CHARS`."""
        if self.check_event(AliasEvent):
            event = self._peek()
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self._sizes:
                raise ConfigYAMLError(
                    f"the alias *{event.anchor} is used inside the value it names, which would "
                    "make that value contain itself forever; copy the part you need instead",
                    event.start_mark,
                )
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise ConfigYAMLError(
                f"values nest more than {MAX_DEPTH} levels deep here (lists and mappings inside "
                "each other); flatten this part of the file",
                self._peek().start_mark,
            )
        written_before = _Size(self._written.values, self._written.chars)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is not None:
            self._measure(node, written_before)
        return node

    def _measure(self, node: Node, written_before: _Size) -> None:
        if isinstance(node, ScalarNode):
            size = _Size(1, len(node.value))
            self._written.values += 1
            self._written.chars += size.chars
        else:
            size = _Size(1, 0)
            self._written.values += 1
            children: list[Node] = (
                [child for pair in node.value for child in pair]
                if isinstance(node, MappingNode)
                else list(node.value)
                if isinstance(node, SequenceNode)
                else []
            )
            for child in children:
                part = self._sizes[id(child)]
                size.values += part.values
                size.chars += part.chars
        self._sizes[id(node)] = size
        added_values = size.values - (self._written.values - written_before.values)
        added_chars = size.chars - (self._written.chars - written_before.chars)
        if added_values > MAX_ALIAS_VALUES or added_chars > MAX_ALIAS_CHARS:
            raise ConfigYAMLError(
                f"aliases (*name) expand this value to {size.values:,} values and "
                f"{size.chars:,} characters, more than a config may add by repetition "
                f"({MAX_ALIAS_VALUES:,} values, {MAX_ALIAS_CHARS:,} characters); write the "
                "value out or repeat it less",
                node.start_mark,
            )

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping, refusing a key that appears twice (merged ``<<`` keys may be overridden)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigYAMLError(
                    f"the key {key!r} appears twice in one mapping, on line {seen[key]} and on "
                    f"line {line}; keep one of them",
                    key_node.start_mark,
                )
            seen[key] = line
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        """An integer, refusing one longer than Python converts (``sys.get_int_max_str_digits``)."""
        try:
            value: int = super().construct_yaml_int(node)
        except ValueError:
            digits = sum(c.isdigit() for c in node.value)
            raise ConfigYAMLError(
                f"an integer of {digits} digits is longer than Python reads "
                f"({sys.get_int_max_str_digits()} digits at most); quote it to keep it as text",
                node.start_mark,
            ) from None
        return value

    def construct_yaml_timestamp(self, node: ScalarNode) -> Any:
        """A date or time, refusing impossible ones (``2024-13-45``)."""
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise ConfigYAMLError(
                f"{node.value!r} is not a valid date or time ({exc}); write a real date as "
                "YYYY-MM-DD, or quote the value to keep it as text",
                node.start_mark,
            ) from None


# What add_constructor does, without its type bound to PyYAML's own loader classes.
_Limits.yaml_constructors = {
    **SafeConstructor.yaml_constructors,
    "tag:yaml.org,2002:int": _Limits.construct_yaml_int,
    "tag:yaml.org,2002:timestamp": _Limits.construct_yaml_timestamp,
}


class PythonConfigLoader(_Limits, Reader, Scanner, Parser, Resolver):
    """The limited loader over PyYAML's pure-Python parser (used when libyaml is missing)."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Resolver.__init__(self)
        _Limits.__init__(self)


ConfigLoader: type[_Limits] = PythonConfigLoader
"""The loader :func:`load_yaml` uses: over libyaml's parser when PyYAML has it."""

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class LibyamlConfigLoader(_Limits, CParser, Resolver):
        """The limited loader over libyaml's parser."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            Resolver.__init__(self)
            _Limits.__init__(self)

    ConfigLoader = LibyamlConfigLoader


def load_yaml(text: str) -> tuple[Any, Node | None]:
    """The data of the YAML document ``text`` and its composed node tree (for key lines).

    Raises :class:`yaml.YAMLError` for malformed YAML and :class:`ConfigYAMLError` for a
    document this module refuses.
    """
    loader = ConfigLoader(text)  # type: ignore[call-arg]  # every subclass takes the text
    try:
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()
    return data, root


def compose_yaml(text: str) -> Node | None:
    """The composed node tree of ``text`` under the same limits (no values constructed)."""
    loader = ConfigLoader(text)  # type: ignore[call-arg]  # every subclass takes the text
    try:
        node: Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node
