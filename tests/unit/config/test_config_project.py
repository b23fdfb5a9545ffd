"""lllm.toml resolution: explicit path, $LLLM_CONFIG (file or folder), cwd and parents."""

from __future__ import annotations

from pathlib import Path

import pytest
from lllm_adapters.config import find_config, load_project
from lllm_domain.errors import ConfigError

from tests.support.config_projects import PROJECT_TOML, write_files


@pytest.fixture
def nested(tmp_path: Path) -> Path:
    """outer/lllm.toml and outer/inner/.lllm.toml, with a deep folder below inner."""
    write_files(tmp_path, {"outer/lllm.toml": "", "outer/inner/.lllm.toml": ""})
    (tmp_path / "outer/inner/a/b/c").mkdir(parents=True)
    (tmp_path / "outer/elsewhere/x").mkdir(parents=True)
    return tmp_path


def test_nearest_parent_wins(nested: Path) -> None:
    deep = nested / "outer/inner/a/b/c"
    assert find_config(cwd=deep, environ={}) == (nested / "outer/inner/.lllm.toml").resolve()
    other = nested / "outer/elsewhere/x"
    assert find_config(cwd=other, environ={}) == (nested / "outer/lllm.toml").resolve()


def test_name_order_in_one_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {"LLLM.toml": "", ".lllm.toml": ""})
    assert find_config(cwd=tmp_path, environ={}).name == ".lllm.toml"
    (tmp_path / "lllm.toml").write_text("")
    assert find_config(cwd=tmp_path, environ={}).name == "lllm.toml"


def test_upper_case_name_is_found(tmp_path: Path) -> None:
    write_files(tmp_path, {"proj/LLLM.toml": ""})
    (tmp_path / "proj/sub").mkdir()
    assert find_config(cwd=tmp_path / "proj/sub", environ={}).name == "LLLM.toml"


def test_env_file_and_folder_beat_the_cwd(nested: Path) -> None:
    deep = nested / "outer/inner/a"
    as_file = {"LLLM_CONFIG": str(nested / "outer/lllm.toml")}
    as_folder = {"LLLM_CONFIG": str(nested / "outer")}
    assert find_config(cwd=deep, environ=as_file) == (nested / "outer/lllm.toml").resolve()
    assert find_config(cwd=deep, environ=as_folder) == (nested / "outer/lllm.toml").resolve()


def test_explicit_path_beats_env(nested: Path) -> None:
    env = {"LLLM_CONFIG": str(nested / "outer")}
    explicit = nested / "outer/inner"
    assert find_config(explicit, environ=env) == (nested / "outer/inner/.lllm.toml").resolve()


def test_bad_env_or_explicit_is_an_error_not_a_fallback(nested: Path) -> None:
    with pytest.raises(ConfigError, match=r"\$LLLM_CONFIG names .*nope.* does not exist"):
        find_config(cwd=nested / "outer", environ={"LLLM_CONFIG": str(nested / "nope")})
    with pytest.raises(ConfigError, match=r"holds none of lllm\.toml"):
        find_config(nested / "outer/elsewhere", environ={})


def test_no_config_anywhere(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    # tmp folders live under /tmp: assume no lllm.toml above them.
    assert find_config(cwd=tmp_path / "a", environ={}) is None


def test_folders_are_relative_to_the_file(tmp_path: Path) -> None:
    write_files(tmp_path, {"p/lllm.toml": PROJECT_TOML, "p/prompts/x.py": "", "p/proxies/y.py": ""})
    project = load_project(tmp_path / "p/lllm.toml")
    assert project.prompt_folders == ((tmp_path / "p/prompts").resolve(),)
    assert project.proxy_folders == ((tmp_path / "p/proxies").resolve(),)
    assert project.root == (tmp_path / "p").resolve()


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"lllm.toml": '[prompts]\nfolders = ["a"\n\n[proxies]\n'})
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "lllm.toml")
    assert info.value.file == str((tmp_path / "lllm.toml").resolve())
    assert info.value.line is not None
    assert "malformed TOML" in str(info.value)
    assert f"lllm.toml:{info.value.line}:" in str(info.value)


def test_unknown_section_and_key_suggest_the_nearest(tmp_path: Path) -> None:
    write_files(tmp_path, {"lllm.toml": '[promts]\nfolders = ["a"]\n'})
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "lllm.toml")
    assert "unknown section [promts]; did you mean 'prompts'?" in str(info.value)
    assert info.value.line == 1
    write_files(tmp_path, {"lllm.toml": '[prompts]\n\nfolder = ["a"]\n'})
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "lllm.toml")
    assert "unknown key 'folder' in [prompts]; did you mean 'folders'?" in str(info.value)
    assert info.value.line == 3


def test_an_unknown_key_points_at_its_own_section_not_an_earlier_one(tmp_path: Path) -> None:
    text = '# demo\n[project]\nfolder = "notes"\n\n[prompts]\nfolder = ["a"]\n'
    write_files(tmp_path, {"lllm.toml": text})
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "lllm.toml")
    assert "unknown key 'folder' in [prompts]" in str(info.value)
    assert info.value.line == 6
    assert str(info.value).startswith(f"{tmp_path / 'lllm.toml'}:6:")


def test_wrong_type_and_missing_folder(tmp_path: Path) -> None:
    write_files(tmp_path, {"lllm.toml": "[proxies]\nfolders = [1, 2]\n"})
    with pytest.raises(ConfigError, match="must be a list of folder paths"):
        load_project(tmp_path / "lllm.toml")
    write_files(tmp_path, {"lllm.toml": '[proxies]\nfolders = ["gone"]\n'})
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "lllm.toml")
    assert "folder 'gone' does not exist" in str(info.value)
    assert info.value.line == 2
