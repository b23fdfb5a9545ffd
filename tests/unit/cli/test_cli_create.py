"""`lllm create`: templates copied with the project name rendered, unsafe names refused."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from lllm_cli.app import run_cli
from lllm_cli.errors import CommandError
from lllm_cli.scaffold import check_project_name, create_project
from lllm_templates import PLACEHOLDER, available_templates, template_files

SCAFFOLDS = files("lllm_templates") / "scaffolds"


def test_both_templates_are_available() -> None:
    assert available_templates() == ["example", "init_template"]


@pytest.mark.parametrize("template", ["init_template", "example"])
def test_create_renders_names_in_contents_and_paths(tmp_path: Path, template: str) -> None:
    target = create_project("my_agent", template, tmp_path)

    assert target == tmp_path / "my_agent"
    assert (target / "config" / "my_agent" / "default.yaml").is_file()
    assert (target / "tests" / "test_my_agent.py").is_file()
    for path in target.rglob("*"):
        assert PLACEHOLDER not in str(path.relative_to(tmp_path))
        if path.is_file() and path.suffix != ".png":
            assert PLACEHOLDER not in path.read_text(encoding="utf-8"), path
    assert 'name = "my_agent"' in (target / "lllm.toml").read_text(encoding="utf-8")
    assert "system_type: my_agent" in (target / "config" / "my_agent" / "default.yaml").read_text(
        encoding="utf-8"
    )
    # Every template file has a counterpart in the project.
    expected = {f.path.replace(PLACEHOLDER, "my_agent") for f in template_files(template)}
    created = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert created == expected


@pytest.mark.parametrize("template", ["init_template", "example"])
def test_binary_files_are_copied_byte_for_byte(tmp_path: Path, template: str) -> None:
    original = (SCAFFOLDS / template / "assets" / "logo.png").read_bytes()
    assert original.startswith(b"\x89PNG\r\n\x1a\n")

    target = create_project("demo", template, tmp_path)

    assert (target / "assets" / "logo.png").read_bytes() == original


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a/b", "path"),
        ("..", "path"),
        ("../escape", "path"),
        ("a\\b", "path"),
        ("a..b", "'..'"),
        ("my-agent", "identifier"),
        ("1agent", "identifier"),
        ("agent name", "identifier"),
        ("ägent", "ASCII"),
        ("class", "keyword"),
        ("__init__", "reserved for Python"),
        ("lllm_domain", "reserved"),
        ("tests", "reserved"),
        ("CON", "reserved"),
        ("json", "standard-library"),
    ],
)
def test_unsafe_names_are_refused_with_a_reason(name: str, reason: str) -> None:
    with pytest.raises(CommandError, match="cannot use") as info:
        check_project_name(name)
    assert reason in str(info.value)


@pytest.mark.parametrize("name", ["demo", "my_agent", "Agent2", "a"])
def test_safe_names_are_accepted(name: str) -> None:
    assert check_project_name(name) == name


def test_an_existing_target_is_refused_and_left_untouched(tmp_path: Path) -> None:
    existing = tmp_path / "demo"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine", encoding="utf-8")

    with pytest.raises(CommandError, match="already exists"):
        create_project("demo", "init_template", tmp_path)

    assert [p.name for p in existing.iterdir()] == ["keep.txt"]
    assert (existing / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_an_existing_file_with_the_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo").write_text("a file", encoding="utf-8")
    with pytest.raises(CommandError, match="already exists"):
        create_project("demo", "init_template", tmp_path)


def test_an_unknown_template_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="init_template"):
        create_project("demo", "nope", tmp_path)
    assert not (tmp_path / "demo").exists()


def test_a_missing_parent_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        create_project("demo", "init_template", tmp_path / "missing")


def test_the_command_accepts_name_positionally_or_as_an_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["create", "one", "--dir", str(tmp_path)]) == 0
    assert run_cli(["create", "--name", "two", "--template", "example", "-d", str(tmp_path)]) == 0
    assert (tmp_path / "one" / "system" / "system.py").is_file()
    assert (tmp_path / "two" / "prompts" / "summary.py").is_file()
    assert "Created example project 'two'" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["../x", "bad-name", ""])
def test_the_command_exits_2_with_one_line_for_a_bad_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert run_cli(["create", "--name", name, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lllm: error: cannot use")
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_the_command_exits_2_for_an_existing_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "demo").mkdir()
    assert run_cli(["create", "demo", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("template", ["init_template", "example"])
def test_scaffolds_log_to_the_documented_default_store(tmp_path: Path, template: str) -> None:
    from lllm_adapters.config import load_system_config
    from lllm_domain.config import SystemConfig

    target = create_project("my_agent", template, tmp_path)
    config = load_system_config(target / "config" / "my_agent" / "default.yaml")
    assert config.log_type == SystemConfig.__attrs_attrs__.log_type.default == "sqlite"
