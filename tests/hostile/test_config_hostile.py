"""Hostile configuration files: alias bombs, deep nesting, broken encodings and values Python
cannot read. Each must end quickly in a ConfigError naming the file (and the line where known),
and `lllm` must report it in one line with exit status 2, never as an internal error."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_adapters.config import load_project, load_system_config, yaml_loader
from lllm_domain.errors import ConfigError

from tests.support.cli_runner import lllm

# A generous guard: each case ends in milliseconds once fixed; before the fix some hang.
GUARD = pytest.mark.timeout(20)


def billion_laughs() -> str:
    """The classic ~400-byte YAML bomb: nine levels of nine aliases (9**9 values expanded)."""
    lines = ["name: bomb", "extra:", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"  {name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def deep_flow_yaml(depth: int = 10_000) -> str:
    return "name: deep\nextra:\n  x: " + "[" * depth + "]" * depth + "\n"


def deep_block_yaml(depth: int = 3_000) -> str:
    body = "".join(" " * (i + 1) + f"k{i}:\n" for i in range(depth))
    return "name: deep\nextra:\n" + body + " " * (depth + 1) + "leaf: 1\n"


def deep_toml_array(depth: int = 10_000) -> str:
    return 'name = "deep"\n\n[extra]\nx = ' + "[" * depth + "]" * depth + "\n"


def deep_toml_table(depth: int = 10_000) -> str:
    return 'name = "deep"\n\n[extra]\nx = ' + "{ a = " * depth + "1" + " }" * depth + "\n"


HUGE_INT = "9" * 5_000


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_system_config(path, environ={})
    return info.value


def project_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_project(path)
    return info.value


def said(error: ConfigError) -> str:
    """The message without its ``file:line:`` prefix (file names must not satisfy a check)."""
    return str(error).split(": ", 1)[1] if error.file else str(error)


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- alias bombs -------------------------------------------------------------------------


@GUARD
def test_a_yaml_alias_bomb_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.yaml", billion_laughs())
    assert len(path.read_bytes()) < 1024
    error = load_error(path)
    assert error.file == str(path)
    assert error.line is not None
    assert "alias" in said(error)


@GUARD
def test_an_alias_that_contains_itself_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "loop.yaml", "name: loop\nextra:\n  a: &a [1, *a]\n")
    error = load_error(path)
    assert error.file == str(path)
    assert error.line == 3
    assert "*a" in said(error)


@GUARD
def test_modest_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ok.yaml",
        """\
name: ok
agent_configs:
  base: &base
    model_name: gpt-4o-mini
    system_prompt_path: p/system
    temperature: 0.2
  other:
    <<: *base
    temperature: 0.5
extra:
  shared: &shared [1, 2, 3]
  again: *shared
""",
    )
    config = load_system_config(path, environ={})
    assert config.agent_configs["other"].temperature == 0.5
    assert config.agent_configs["other"].model_name == "gpt-4o-mini"
    assert config.extra["again"] == [1, 2, 3]


@GUARD
def test_interpolated_values_are_bounded_in_size(tmp_path: Path) -> None:
    refs = ", ".join(['"${BIG}"'] * 30)
    path = write(tmp_path / "big.yaml", f"name: big\nextra:\n  many: [{refs}]\n")
    with pytest.raises(ConfigError) as info:
        load_system_config(path, environ={"BIG": "x" * 100_000})
    assert info.value.file == str(path)
    assert "characters" in said(info.value)


# --- deep nesting ------------------------------------------------------------------------


@GUARD
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("flow.yaml", deep_flow_yaml()),
        ("block.yaml", deep_block_yaml()),
        ("array.toml", deep_toml_array()),
        ("table.toml", deep_toml_table()),
        ("array-150.toml", deep_toml_array(150)),
        ("flow-150.yaml", deep_flow_yaml(150)),
    ],
)
def test_deep_nesting_is_a_config_error_with_file_and_line(
    tmp_path: Path, name: str, text: str
) -> None:
    path = write(tmp_path / name, text)
    error = load_error(path)
    assert error.file == str(path)
    assert error.line is not None
    assert "levels" in said(error)


@GUARD
def test_nesting_within_the_limit_loads(tmp_path: Path) -> None:
    path = write(tmp_path / "fine.yaml", deep_flow_yaml(50))
    config = load_system_config(path, environ={})
    value = config.extra["x"]
    for _ in range(49):
        (value,) = value
    assert value == []


@GUARD
@pytest.mark.parametrize("depth", [10_000, 150])
def test_a_deeply_nested_lllm_toml_is_a_config_error(tmp_path: Path, depth: int) -> None:
    path = write(tmp_path / "lllm.toml", '[project]\nname = "x"\nx = ' + "[" * depth + "]" * depth)
    error = project_error(path)
    assert error.file == str(path)
    assert error.line == 3
    assert "levels" in said(error)


# --- values Python cannot read ---------------------------------------------------------


INVALID_UTF8 = b'name: bad\nextra:\n  text: "caf\xe9"\n'


@GUARD
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bad.yaml", INVALID_UTF8),
        ("bad.toml", b'name = "bad"\n\n[extra]\ntext = "caf\xe9"\n'),
    ],
)
def test_invalid_utf8_names_file_and_line(tmp_path: Path, name: str, data: bytes) -> None:
    path = write(tmp_path / name, data)
    error = load_error(path)
    assert error.file == str(path)
    assert error.line == data.count(b"\n", 0, data.index(b"\xe9")) + 1
    assert "UTF-8" in said(error)


@GUARD
def test_invalid_utf8_in_lllm_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "lllm.toml", b'[project]\nname = "caf\xe9"\n')
    error = project_error(path)
    assert (error.file, error.line) == (str(path), 2)
    assert "UTF-8" in said(error)


@GUARD
@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("int.yaml", f"name: big\nrandom_seed: {HUGE_INT}\n", 2),
        ("int.toml", f'name = "big"\nrandom_seed = {HUGE_INT}\n', 2),
        ("nested-int.yaml", f"name: big\nextra:\n  n: [1, {HUGE_INT}]\n", 3),
    ],
)
def test_a_5000_digit_integer_names_file_and_line(
    tmp_path: Path, name: str, text: str, line: int
) -> None:
    path = write(tmp_path / name, text)
    error = load_error(path)
    assert (error.file, error.line) == (str(path), line)
    assert "5000 digits" in said(error)


@GUARD
def test_a_5000_digit_integer_in_lllm_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "lllm.toml", f"[project]\nseed = {HUGE_INT}\n")
    error = project_error(path)
    assert (error.file, error.line) == (str(path), 2)
    assert "5000 digits" in said(error)


@GUARD
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("date.yaml", "name: d\ncutoff_date: 2024-13-45\n"),
        ("date.toml", 'name = "d"\ncutoff_date = 2024-13-45\n'),
        ("datetime.yaml", "name: d\nextra:\n  at: 2024-01-01 25:00:00\n"),
    ],
)
def test_an_impossible_date_names_file_and_line(tmp_path: Path, name: str, text: str) -> None:
    path = write(tmp_path / name, text)
    error = load_error(path)
    assert error.file == str(path)
    assert error.line == len(text.splitlines())
    assert "date" in said(error)


@GUARD
def test_an_impossible_date_in_lllm_toml(tmp_path: Path) -> None:
    path = write(tmp_path / "lllm.toml", '[project]\nname = "x"\nsince = 2024-13-45\n')
    error = project_error(path)
    assert (error.file, error.line) == (str(path), 3)
    assert "date" in said(error)


@GUARD
def test_a_duplicate_yaml_key_names_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.yaml", "name: first\nlog_dir: logs\nname: second\n")
    error = load_error(path)
    assert (error.file, error.line) == (str(path), 3)
    assert "'name'" in said(error)
    assert "line 1" in said(error) and "line 3" in said(error)


@GUARD
def test_a_duplicate_nested_yaml_key_names_both_lines(tmp_path: Path) -> None:
    text = """\
name: x
agent_configs:
  a:
    model_name: m
    system_prompt_path: p/system
    model_name: n
"""
    path = write(tmp_path / "dup.yaml", text)
    error = load_error(path)
    assert (error.file, error.line) == (str(path), 6)
    assert "'model_name'" in said(error) and "line 4" in said(error)


# --- the command line --------------------------------------------------------------------


def _project(root: Path, config_name: str, config: str | bytes, toml: str | bytes) -> Path:
    write(root / "lllm.toml", toml)
    write(root / "config" / "demo" / config_name, config)
    return root


# case → (system config file name, its content, lllm.toml, the file at fault, words said)
CLI_CASES: dict[str, tuple[str, str | bytes, str, str, str]] = {
    "yaml-bomb": ("default.yaml", billion_laughs(), "[project]\n", "default.yaml:8", "alias"),
    "yaml-deep": ("default.yaml", deep_flow_yaml(), "[project]\n", "default.yaml:3", "levels"),
    "yaml-dup": ("default.yaml", "name: a\nname: b\n", "[project]\n", "default.yaml:2", "twice"),
    "yaml-utf8": ("default.yaml", INVALID_UTF8, "[project]\n", "default.yaml:3", "UTF-8"),
    "toml-int": (
        "default.toml",
        f'name = "x"\nrandom_seed = {HUGE_INT}\n',
        '[project]\nconfig = "config/demo/default.toml"\n',
        "default.toml:2",
        "5000 digits",
    ),
    "lllm-toml-deep": (
        "default.yaml",
        "name: x\n",
        "[project]\nx = " + "[" * 10_000,
        "lllm.toml:2",
        "levels",
    ),
    "lllm-toml-date": (
        "default.yaml",
        "name: x\n",
        "[project]\nd = 2024-13-45\n",
        "lllm.toml:2",
        "date",
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_lllm_run_reports_a_hostile_config_in_one_line_with_exit_2(
    tmp_path: Path, case: str
) -> None:
    config_name, config, toml, at_fault, words = CLI_CASES[case]
    root = _project(tmp_path, config_name, config, toml)
    result = lllm("run", "hello", "--model", "scripted", cwd=root)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("lllm: error: ")
    assert "internal error" not in result.stderr
    assert f"{at_fault}: " in lines[0]
    assert words in lines[0].split(f"{at_fault}: ", 1)[1]


# --- size ----------------------------------------------------------------------------------


@GUARD
def test_a_large_toml_config_loads_and_locates_keys_in_linear_time(tmp_path: Path) -> None:
    # Locating keys used to rescan the file once per key: 20,000 keys took minutes.
    keys = "".join(f"k{i} = {i}\n" for i in range(20_000))
    path = write(tmp_path / "large.toml", f'name = "large"\n\n[extra]\n{keys}')
    assert load_system_config(path, environ={}).extra["k19999"] == 19_999
    bad = write(tmp_path / "bad.toml", f'name = "large"\nrandom_seed = "x"\n\n[extra]\n{keys}')
    error = load_error(bad)
    assert (error.file, error.line) == (str(bad), 2)


@GUARD
def test_toml_key_lines_follow_tables(tmp_path: Path) -> None:
    text = """\
name = "x"

[agent_configs.first]
model_name = "m"
system_prompt_path = "p/system"

[agent_configs.second]
model_name = "m"
system_prompt_path = "p/system"
temprature = 0.2
"""
    error = load_error(write(tmp_path / "typo.toml", text))
    assert error.line == 10
    assert "did you mean 'temperature'" in said(error)


@GUARD
@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (billion_laughs(), 8, "aliases"),
        ("name: loop\nextra:\n  a: &a [1, *a]\n", 3, "*a"),
        (deep_flow_yaml(150), 3, "levels"),
        (deep_block_yaml(), 101, "levels"),
        ("name: a\nname: b\n", 2, "line 1"),
        (f"name: big\nrandom_seed: {HUGE_INT}\n", 2, "5000 digits"),
        ("name: d\ncutoff_date: 2024-13-45\n", 2, "date"),
    ],
    ids=["bomb", "loop", "flow", "block", "duplicate", "integer", "date"],
)
def test_the_pure_python_yaml_parser_keeps_the_same_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, line: int, words: str
) -> None:
    # Without libyaml, PyYAML's own parser supplies the events; the limits are the same.
    monkeypatch.setattr(yaml_loader, "ConfigLoader", yaml_loader.PythonConfigLoader)
    error = load_error(write(tmp_path / "c.yaml", text))
    assert error.line == line
    assert words in said(error)


@GUARD
def test_a_real_date_followed_by_junk_is_not_called_an_invalid_date(tmp_path: Path) -> None:
    path = write(tmp_path / "junk.toml", 'name = "d"\ncutoff_date = 2024-01-31 soon\n')
    error = load_error(path)
    assert error.line == 2
    assert "not a valid date" not in said(error)
