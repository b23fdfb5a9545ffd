"""Reading YAML configuration files: parsing with the limits of
:mod:`lllm_adapters.config.yaml_loader`, malformed YAML as a :class:`ConfigError` with the file,
the line and a hint in plain words, and the line of every key.

Needs the ``yaml`` extra (``pip install "lllm-adapters[yaml]"``); TOML files need nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lllm_domain.errors import ConfigError

from lllm_adapters.config.source import MAX_DEPTH, KeyPath
from lllm_adapters.extras import requires_extra

with requires_extra("yaml", "lllm_adapters.config.yaml_source"):
    import yaml

    from lllm_adapters.config.yaml_loader import ConfigYAMLError, compose_yaml, load_yaml


def parse_yaml(text: str, file: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML ``text`` (read from ``file``) with the limits of
    :mod:`lllm_adapters.config.yaml_loader`; return the data and the line of every key."""
    try:
        data, root = load_yaml(text)
    except ConfigYAMLError as exc:
        raise ConfigError(exc.message, file=str(file), line=exc.line) from None
    except yaml.YAMLError as exc:
        raise yaml_error(exc, file, text) from None
    except RecursionError:  # pragma: no cover - the depth limit stops nesting long before
        raise ConfigError(
            f"values nest more than {MAX_DEPTH} levels deep; flatten the file", file=str(file)
        ) from None
    return data, _node_lines(root)


def yaml_error(exc: yaml.YAMLError, file: Path, text: str | None = None) -> ConfigError:
    """A malformed-YAML error pointing at the file and line (``text`` locates a character the
    reader refuses, whose error carries only its position, and shows a tab the parser does not
    name)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    if isinstance(exc, yaml.reader.ReaderError) and text is not None:
        line = text.count("\n", 0, exc.position) + 1
    problem = getattr(exc, "problem", None) or str(exc)
    if "maximum nesting depth" in problem:  # libyaml's own limit (1,000 levels)
        return ConfigError(
            f"values nest more than {MAX_DEPTH} levels deep here (lists and mappings inside "
            "each other); flatten this part of the file",
            file=str(file),
            line=line,
        )
    hint = _yaml_hint(problem)
    if not hint and text is not None and mark is not None and _char_at(text, mark) == "\t":
        hint = _yaml_hint("'\\t'")
    return ConfigError(
        f"malformed YAML: {hint} (the parser says: {problem})"
        if hint
        else f"malformed YAML: {problem}",
        file=str(file),
        line=line,
    )


def _char_at(text: str, mark: Any) -> str:
    line: int = mark.line
    column: int = mark.column
    lines = text.splitlines()
    if 0 <= line < len(lines) and 0 <= column < len(lines[line]):
        return lines[line][column]
    return ""


def _yaml_hint(problem: str) -> str:
    """Plain words for the YAML parser's usual complaints (its own words are jargon)."""
    if "'\\t'" in problem or "tab" in problem:
        return "a tab indents this line; YAML indents with spaces only, so replace it with spaces"
    if "flow" in problem or re.search(r"expected ',' or '[\]}]'", problem):
        return "a '[' or '{' is not closed by this line; add the missing ']' or '}'"
    indentation = (
        "check this line's indentation against the line above (keys at one level start in "
        "the same column; YAML uses spaces, not tabs)"
    )
    if "mapping values are not allowed" in problem:
        return f"{indentation}; a value that contains ': ' must be quoted"
    if "<block end>" in problem or "block mapping" in problem or "expected key" in problem:
        return indentation
    return ""


def yaml_lines(text: str) -> dict[KeyPath, int]:
    """Key path → 1-based line of every mapping key in a YAML document."""
    try:
        root = compose_yaml(text)
    except yaml.YAMLError:
        return {}
    return _node_lines(root)


def _node_lines(root: yaml.Node | None) -> dict[KeyPath, int]:
    found: dict[KeyPath, int] = {}

    def walk(node: Any, prefix: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = (*prefix, str(key_node.value))
                found[path] = key_node.start_mark.line + 1
                walk(value_node, path)

    walk(root, ())
    return found
