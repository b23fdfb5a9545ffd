"""Discovery over real project folders in tmp: namespaced keys, unique module names, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lllm_adapters.config import discover, find_config
from lllm_domain.errors import ConfigError
from lllm_domain.prompt import Prompt
from lllm_domain.registry import PromptRegistry, ProxyRegistry, register_prompt

from tests.support.config_projects import PROJECT_TOML, prompt_module, proxy_module, write_files


def run(root: Path, **kwargs: object) -> tuple[PromptRegistry, ProxyRegistry, object]:
    prompts, proxies = PromptRegistry(), ProxyRegistry()
    report = discover(root / "lllm.toml", prompts=prompts, proxies=proxies, enabled=True, **kwargs)
    return prompts, proxies, report


def test_registers_prompts_and_proxies_under_namespaced_keys(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/system.py": prompt_module("main"),
            "prompts/team/critic.py": prompt_module("review"),
            "prompts/shared.py": prompt_module("library/summary"),
            "prompts/_private.py": prompt_module("hidden"),
            "prompts/__init__.py": "",
            "proxies/market.py": proxy_module("Market", path="finance/market"),
            "proxies/weather.py": proxy_module("Weather"),
        },
    )
    prompts, proxies, report = run(tmp_path)
    assert prompts.keys() == ["library/summary", "system/main", "team/critic/review"]
    assert prompts.get("system/main").path == "system/main"
    assert prompts.get("system/main").render(role="a judge") == "You are a judge."
    assert proxies.keys() == ["finance/market", "weather/Weather"]
    assert report.prompts["system/main"].endswith("prompts/system.py:main")
    assert proxies.origin("finance/market").endswith("proxies/market.py:Market")


def test_two_projects_with_the_same_module_names_do_not_collide(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write_files(
            tmp_path / name,
            {
                "lllm.toml": PROJECT_TOML,
                "prompts/common.py": f"ROLE = 'role of {name}'\n",
                "prompts/system.py": """
                    from lllm_domain.prompt import Prompt
                    from .common import ROLE

                    main = Prompt(path="main", template=ROLE + " {x}")
                """,
                "proxies/api.py": proxy_module("Api"),
            },
        )
    prompts_a, proxies_a, report_a = run(tmp_path / "a")
    prompts_b, proxies_b, report_b = run(tmp_path / "b")
    assert prompts_a.get("system/main").template == "role of a {x}"
    assert prompts_b.get("system/main").template == "role of b {x}"
    assert proxies_a.get("api/Api") is not proxies_b.get("api/Api")
    assert set(report_a.modules).isdisjoint(report_b.modules)
    assert all(m in sys.modules for m in report_a.modules + report_b.modules)


def test_discovery_follows_cwd_and_env(tmp_path: Path) -> None:
    write_files(tmp_path, {"proj/lllm.toml": PROJECT_TOML, "proj/prompts/s.py": prompt_module("p")})
    (tmp_path / "proj/proxies").mkdir()
    (tmp_path / "proj/deep/er").mkdir(parents=True)
    prompts = PromptRegistry()
    discover(prompts=prompts, proxies=ProxyRegistry(), cwd=tmp_path / "proj/deep/er", environ={})
    assert "s/p" in prompts
    prompts = PromptRegistry()
    discover(
        prompts=prompts,
        proxies=ProxyRegistry(),
        cwd=tmp_path,
        environ={"LLLM_CONFIG": str(tmp_path / "proj")},
    )
    assert "s/p" in prompts


def test_opt_out_with_env_and_manual_registration_still_works(tmp_path: Path) -> None:
    write_files(tmp_path, {"lllm.toml": PROJECT_TOML, "prompts/s.py": prompt_module("p")})
    (tmp_path / "proxies").mkdir()
    prompts = PromptRegistry()
    for value in ("0", "false", "No"):
        report = discover(
            tmp_path / "lllm.toml",
            prompts=prompts,
            proxies=ProxyRegistry(),
            environ={"LLLM_AUTO_DISCOVER": value},
        )
        assert report.skipped and not report.modules
    assert len(prompts) == 0
    register_prompt(Prompt(path="manual", template="hi"), registry=prompts)
    assert prompts.keys() == ["manual"]


def test_no_config_found_is_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    if find_config(cwd=tmp_path / "empty", environ={}) is not None:
        pytest.skip("an lllm.toml exists above the temporary folder")
    report = discover(cwd=tmp_path / "empty", environ={}, prompts=PromptRegistry())
    assert report.skipped == "no lllm.toml found"


def test_running_twice_is_harmless(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/s.py": prompt_module("p"),
            "proxies/api.py": proxy_module("Api"),
        },
    )
    prompts, proxies = PromptRegistry(), ProxyRegistry()
    for _ in range(2):
        discover(tmp_path / "lllm.toml", prompts=prompts, proxies=proxies, enabled=True)
    assert prompts.keys() == ["s/p"] and proxies.keys() == ["api/Api"]


def test_shared_objects_and_self_registered_proxies_are_registered_once(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/base.py": prompt_module("lib/base"),
            "prompts/user.py": "from .base import main as reused\n",
            "proxies/base.py": proxy_module("Base", path="x/base"),
            "proxies/derived.py": """
                from .base import Base

                class Derived(Base):
                    path = "x/derived"
            """,
        },
    )
    prompts, proxies, _ = run(tmp_path)
    assert prompts.keys() == ["lib/base"]
    assert proxies.keys() == ["x/base", "x/derived"]


def test_failing_module_names_its_path_line_and_error(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/ok.py": prompt_module("fine"),
            "prompts/broken.py": "import os\n\nraise ValueError('boom in module')\n",
        },
    )
    (tmp_path / "proxies").mkdir()
    with pytest.raises(ConfigError) as info:
        run(tmp_path)
    broken = tmp_path / "prompts/broken.py"
    assert info.value.file == str(broken)
    assert info.value.line == 3
    assert "prompt module failed to import: ValueError: boom in module" in str(info.value)


def test_sys_exit_in_a_prompt_module_is_a_config_error_not_an_exit(tmp_path: Path) -> None:
    write_files(
        tmp_path, {"lllm.toml": PROJECT_TOML, "prompts/quits.py": "import sys\n\nsys.exit(3)\n"}
    )
    (tmp_path / "proxies").mkdir()
    with pytest.raises(ConfigError) as info:
        run(tmp_path)
    assert (info.value.file, info.value.line) == (str(tmp_path / "prompts/quits.py"), 3)
    assert "prompt module failed to import: it called sys.exit(3)" in str(info.value)


def test_syntax_error_in_proxy_module(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"lllm.toml": PROJECT_TOML, "proxies/bad.py": "x = 1\ndef oops(:\n    pass\n"},
    )
    (tmp_path / "prompts").mkdir()
    with pytest.raises(ConfigError) as info:
        run(tmp_path)
    assert info.value.file == str(tmp_path / "proxies/bad.py")
    assert info.value.line == 2
    assert "proxy module failed to import: SyntaxError" in str(info.value)


def test_duplicate_prompt_keys_name_both_modules(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/one.py": prompt_module("shared/answer"),
            "prompts/two.py": prompt_module("shared/answer", "Other {x}"),
        },
    )
    (tmp_path / "proxies").mkdir()
    with pytest.raises(ConfigError) as info:
        run(tmp_path)
    message = str(info.value)
    assert "prompt key 'shared/answer' is defined twice" in message
    assert str(tmp_path / "prompts/one.py") in message
    assert str(tmp_path / "prompts/two.py") in message


def test_toml_config_source_port(tmp_path: Path) -> None:
    from lllm_adapters.config import TomlConfigSource

    write_files(tmp_path, {"lllm.toml": PROJECT_TOML, "prompts/s.py": prompt_module("p")})
    (tmp_path / "proxies").mkdir()
    prompts = PromptRegistry()
    source = TomlConfigSource(prompts=prompts, proxies=ProxyRegistry(), environ={}, cwd=tmp_path)
    assert source.load()["prompts"] == {"folders": ["prompts"]}
    source.discover()
    assert prompts.keys() == ["s/p"]
    with pytest.raises(ConfigError, match="does not exist"):
        source.load(str(tmp_path / "missing.toml"))


def test_modules_that_register_themselves_are_not_duplicates(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "lllm.toml": PROJECT_TOML,
            "prompts/manual.py": """
                from lllm_domain.prompt import Prompt
                from lllm_domain.registry import register_prompt

                def build(registry):
                    return register_prompt(Prompt(path="lib/manual", template="m"),
                                           registry=registry)
            """,
        },
    )
    (tmp_path / "proxies").mkdir()
    prompts = PromptRegistry()
    # The module registers on its own (here through a helper, as a module-level call would).
    discover(tmp_path / "lllm.toml", prompts=prompts, proxies=ProxyRegistry(), enabled=True)
    module = next(m for n, m in sys.modules.items() if n.endswith(".manual") and "_lllm_" in n)
    same = module.build(PromptRegistry())
    prompts.add(same)
    module.main = same  # now a discovered module also exposes the same prompt
    discover(tmp_path / "lllm.toml", prompts=prompts, proxies=ProxyRegistry(), enabled=True)
    assert prompts.keys() == ["lib/manual"]
