"""Helpers that turn configuration files into data and faults into :class:`ConfigError` s with
a file, a line and a suggestion."""

from __future__ import annotations

import difflib
import re
import tomllib
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from lllm_domain.errors import ConfigError

KeyPath = tuple[str, ...]


def suggest(key: str, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest option, or ``""``."""
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def toml_error(exc: tomllib.TOMLDecodeError, file: Path) -> ConfigError:
    """A malformed-TOML error pointing at the file and line."""
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    line = int(match.group(1)) if match else None
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
    return ConfigError(f"malformed TOML: {message}", file=str(file), line=line)


def yaml_error(exc: yaml.YAMLError, file: Path) -> ConfigError:
    """A malformed-YAML error pointing at the file and line."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    hint = _yaml_hint(problem)
    return ConfigError(
        f"malformed YAML: {hint} (the parser says: {problem})"
        if hint
        else f"malformed YAML: {problem}",
        file=str(file),
        line=line,
    )


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


def find_line(text: str, key: str, *, toml: bool, after: str | None = None) -> int | None:
    """The 1-based line where ``key`` is set or opens a section (after the line containing
    ``after``, when given); ``None`` when not found. A best effort for TOML, whose parser
    keeps no positions."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        for i, line in enumerate(lines):
            if line.strip().startswith(after):
                start = i
                break
    quoted = re.escape(key)
    if toml:
        pattern = re.compile(
            rf"^\s*(\[+\s*([\w.\"'-]*\.)?[\"']?{quoted}[\"']?\s*\]+|[\"']?{quoted}[\"']?\s*=)"
        )
    else:
        pattern = re.compile(rf"^\s*(-\s*)?[\"']?{quoted}[\"']?\s*:")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return None


def yaml_lines(text: str) -> dict[KeyPath, int]:
    """Key path → 1-based line of every mapping key in a YAML document."""
    found: dict[KeyPath, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return found

    def walk(node: Any, prefix: KeyPath) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                path = (*prefix, str(key_node.value))
                found[path] = key_node.start_mark.line + 1
                walk(value_node, path)

    walk(root, ())
    return found


def toml_lines(text: str, data: Any) -> dict[KeyPath, int]:
    """Key path → 1-based line, best effort, for the keys of parsed TOML ``data``."""
    found: dict[KeyPath, int] = {}

    def walk(node: Any, prefix: KeyPath) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            path = (*prefix, key)
            section = "[" + ".".join(prefix) if prefix else None
            line = find_line(text, key, toml=True, after=section)
            if line is not None:
                found[path] = line
            walk(value, path)

    walk(data, ())
    return found


def failure_location(
    exc: BaseException, accept: Callable[[Path], bool]
) -> tuple[Path | None, int | None]:
    """Where an import failed: the innermost traceback frame (or the file of a syntax error)
    whose file ``accept`` takes, with its line; ``(None, None)`` when no frame qualifies."""
    if isinstance(exc, SyntaxError) and exc.filename and accept(Path(exc.filename)):
        return Path(exc.filename), exc.lineno
    found: tuple[Path | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        if accept(Path(frame.filename)):
            found = (Path(frame.filename), frame.lineno)
    return found


def describe_failure(exc: BaseException) -> str:
    """``Type: message`` of an exception raised while importing (``sys.exit`` included)."""
    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) while being imported"
    return f"{type(exc).__name__}: {exc}"
