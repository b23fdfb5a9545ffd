"""Helpers that turn configuration files into data and faults into :class:`ConfigError` s with
a file, a line and a suggestion.

Reading is defensive: a file that is not UTF-8, values nested more than :data:`MAX_DEPTH`
levels, YAML alias bombs and duplicate keys, integers longer than Python converts and impossible
dates are all :class:`ConfigError` s naming the file and line, never a bare ``RecursionError``
or ``ValueError``. YAML's own helpers are in :mod:`lllm_adapters.config.yaml_source` (the ``yaml``
extra); everything here needs only the standard library.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import sys
import tomllib
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lllm_domain.errors import ConfigError

KeyPath = tuple[str, ...]

MAX_DEPTH = 100
"""How deep values may nest (lists and mappings, arrays and tables inside each other) in a
config file."""


def suggest(key: str, options: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the nearest option, or ``""``."""
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def read_text(file: Path, what: str) -> str:
    """The text of ``file`` (UTF-8); a :class:`ConfigError` naming ``what`` when it cannot be
    read, and the line and column of the first byte that is not UTF-8."""
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", file=str(file)) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            f"the file is not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column} "
            "cannot be decoded); save it with UTF-8 encoding",
            file=str(file),
            line=line,
        ) from None


_DATE_LIKE = re.compile(r"(?<![\w.:-])\d{4}-\d{1,2}-\d{1,2}(?:[T ][\d:.]+)?(?![\w.:-])")


def _is_date(token: str) -> bool:
    try:
        dt.datetime.fromisoformat(token.replace(" ", "T"))
    except ValueError:
        return False
    return True


def toml_error(exc: tomllib.TOMLDecodeError, file: Path, text: str | None = None) -> ConfigError:
    """A malformed-TOML error pointing at the file and line (with ``text``, a hint for a
    date-like value that is not a real date, which TOML's parser reports only as junk)."""
    match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
    line = int(match.group(1)) if match else None
    message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
    if text is not None and line is not None:
        lines = text.splitlines()
        date = _DATE_LIKE.search(lines[line - 1]) if line <= len(lines) else None
        if date is not None and not _is_date(date.group(0)):
            return ConfigError(
                f"malformed TOML: {date.group(0)!r} is not a valid date or time; write a real "
                "date as YYYY-MM-DD (two-digit month and day), or quote it to keep it as text "
                f"(the parser says: {message})",
                file=str(file),
                line=line,
            )
    return ConfigError(f"malformed TOML: {message}", file=str(file), line=line)


def parse_toml(text: str, file: Path) -> dict[str, Any]:
    """Parse TOML ``text`` (read from ``file``), refusing values nested more than
    :data:`MAX_DEPTH` levels and integers longer than Python converts."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise toml_error(exc, file, text) from None
    except RecursionError as exc:
        raise ConfigError(
            f"values nest more than {MAX_DEPTH} levels deep (arrays or inline tables inside "
            "each other); flatten this part of the file",
            file=str(file),
            line=_toml_fault_line(exc, text),
        ) from None
    except ValueError as exc:  # tomllib lets int()'s digit limit through
        raise ConfigError(
            f"{_long_integer(exc)}; quote it to keep it as text",
            file=str(file),
            line=_toml_fault_line(exc, text),
        ) from None
    _check_depth(data, file, text)
    return data


def _long_integer(exc: ValueError) -> str:
    digits = re.search(r"value has (\d+) digits", str(exc))
    count = f"of {digits.group(1)} digits " if digits else ""
    return (
        f"an integer {count}is longer than Python reads "
        f"({sys.get_int_max_str_digits()} digits at most)"
    )


def _toml_fault_line(exc: BaseException, text: str) -> int | None:
    """The line tomllib was reading when ``exc`` escaped it: its parsing functions all carry
    the source and a position, so the innermost such frame says where."""
    position: int | None = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_globals.get("__name__", "").startswith("tomllib"):
            pos = frame.f_locals.get("pos")
            if isinstance(pos, int) and frame.f_locals.get("src") is text:
                position = pos
    return None if position is None else text.count("\n", 0, position) + 1


def _check_depth(data: Any, file: Path, text: str) -> None:
    """Refuse parsed data nested deeper than :data:`MAX_DEPTH` (without recursion)."""
    stack: list[tuple[Any, int, KeyPath]] = [(data, 0, ())]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, dict):
            children: Iterable[tuple[Any, KeyPath]] = (
                (v, (*path, str(k))) for k, v in value.items()
            )
        elif isinstance(value, list):
            children = ((v, path) for v in value)
        else:
            continue
        if depth > MAX_DEPTH:
            where = ".".join(path)
            line = None
            if path:
                section = "[" + ".".join(path[:-1]) if len(path) > 1 else None
                line = find_line(text, path[-1], toml=True, after=section)
            raise ConfigError(
                f"{where + ': ' if where else ''}values nest more than {MAX_DEPTH} levels deep "
                "(arrays or tables inside each other); flatten this part of the file",
                file=str(file),
                line=line,
            )
        stack.extend((child, depth + 1, child_path) for child, child_path in children)


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


_TOML_HEADER = re.compile(r"^\s*\[\[?([^\[\]]+)\]\]?\s*(?:#.*)?$")
_TOML_KEY = re.compile(r"^\s*([\w\"'.\s-]+?)\s*=")


def _toml_key_path(text: str) -> KeyPath:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def toml_lines(text: str) -> dict[KeyPath, int]:
    """Key path → 1-based line where each key of TOML ``text`` is set or its table opens.

    One pass over the lines (best effort: TOML's parser keeps no positions), so a large file
    costs no more than reading it.
    """
    found: dict[KeyPath, int] = {}
    section: KeyPath = ()
    for number, line in enumerate(text.splitlines(), 1):
        header = _TOML_HEADER.match(line)
        if header is not None:
            section = _toml_key_path(header.group(1))
            found.setdefault(section, number)
            continue
        key = _TOML_KEY.match(line)
        if key is not None:
            found.setdefault((*section, *_toml_key_path(key.group(1))), number)
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
