"""Install extras and versions: every adapter that needs an extra says which when its library is
missing, the base install works without any extra, and the four packages share one version.

A missing library is simulated in a fresh interpreter with ``sys.modules[name] = None`` (Python
then refuses to import it, as if it were not installed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lllm-domain", "lllm-adapters", "lllm-cli", "lllm-templates")

EVERY_EXTRA_LIBRARY = (
    "httpx2",
    "tiktoken",
    "tiktoken_ext",
    "jupyter_client",
    "nbformat",
    "ipykernel",
    "yaml",
    "rich",
    "streamlit",
    "psycopg",
)

_PROBE = """
import importlib, json, sys
for name in {blocked!r}:
    sys.modules[name] = None
from lllm_domain.errors import MissingExtraError
try:
{body}
except MissingExtraError as exc:
    print(json.dumps({{"missing": exc.extra, "message": str(exc)}}))
except ImportError as exc:
    print(json.dumps({{"import_error": type(exc).__name__, "name": exc.name}}))
else:
    print(json.dumps({{"ok": True}}))
"""


def _probe(body: str, blocked: tuple[str, ...]) -> dict[str, Any]:
    """Run ``body`` in a fresh interpreter where ``blocked`` modules cannot be imported."""
    code = _PROBE.format(blocked=blocked, body=textwrap.indent(textwrap.dedent(body), "    "))
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


@pytest.mark.parametrize(
    ("module", "extra", "blocked"),
    [
        ("lllm_adapters.openai", "openai", ("httpx2",)),
        ("lllm_adapters.openai.errors", "openai", ("httpx2",)),
        ("lllm_adapters.proxies", "proxies", ("httpx2",)),
        ("lllm_adapters.tokenizer", "tokens", ("tiktoken",)),
        ("lllm_adapters.tokenizer", "tokens", ("tiktoken_ext",)),
        ("lllm_adapters.jupyter", "jupyter", ("jupyter_client",)),
        ("lllm_adapters.jupyter", "jupyter", ("nbformat",)),
        ("lllm_adapters.jupyter", "jupyter", ("ipykernel",)),
        ("lllm_adapters.jupyter.session", "jupyter", ("jupyter_client",)),
        ("lllm_adapters.config.yaml_source", "yaml", ("yaml",)),
        ("lllm_adapters.config.yaml_loader", "yaml", ("yaml",)),
        ("lllm_adapters.frontend.terminal", "terminal", ("rich",)),
        ("lllm_adapters.frontend.streamlit", "streamlit", ("streamlit",)),
        ("lllm_adapters.logs.postgres_store", "postgres", ("psycopg",)),
    ],
)
def test_an_adapter_without_its_extra_names_the_extra_to_install(
    module: str, extra: str, blocked: tuple[str, ...]
) -> None:
    found = _probe(f"importlib.import_module({module!r})", blocked)

    assert found.get("missing") == extra, found
    assert f'pip install "lllm-adapters[{extra}]"' in found["message"]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("OpenAICaller", "openai"),
        ("HttpProxyRuntime", "proxies"),
        ("TiktokenProvider", "tokens"),
        ("JupyterSandbox", "jupyter"),
        ("TerminalFrontend", "terminal"),
        ("StreamlitFrontend", "streamlit"),
    ],
)
def test_the_lazy_names_of_lllm_adapters_name_the_extra_too(name: str, extra: str) -> None:
    found = _probe(f"from lllm_adapters import {name}", EVERY_EXTRA_LIBRARY)

    assert found.get("missing") == extra, found


@pytest.mark.parametrize(
    "body",
    [
        "from lllm_adapters.logs import PostgresLogStore",
        "from lllm_adapters.logs import open_log_store\nopen_log_store('postgres', dsn='host=x')",
    ],
    ids=["lazy-name", "factory"],
)
def test_the_postgres_store_without_its_extra_names_the_extra(body: str) -> None:
    found = _probe(body, EVERY_EXTRA_LIBRARY)

    assert found.get("missing") == "postgres", found


def test_the_base_install_works_without_any_extra(tmp_path: Path) -> None:
    """Log stores, TOML project and system configs, discovery, redaction and logging need no
    extra; a YAML system config then says to install `yaml`."""
    (tmp_path / "lllm.toml").write_text('[project]\nname = "demo"\n')
    (tmp_path / "system.toml").write_text('name = "demo"\n')
    (tmp_path / "system.yaml").write_text("name: demo\n")
    body = f"""
    import lllm_adapters, lllm_domain
    from lllm_adapters import (
        NoLog, SQLiteLogStore, configure_logging, discover, get_logger, load_project,
        load_system_config, open_log_store,
    )
    from lllm_adapters.frontend import EventLog
    from lllm_adapters.observability import Redactor
    configure_logging()
    load_project({str(tmp_path / "lllm.toml")!r})
    load_system_config({str(tmp_path / "system.toml")!r})
    store = SQLiteLogStore({str(tmp_path / "logs.db")!r})
    store.close()
    for name in {EVERY_EXTRA_LIBRARY!r}:
        assert not isinstance(sys.modules[name], type(sys)), name
    try:
        load_system_config({str(tmp_path / "system.yaml")!r})
    except MissingExtraError as exc:
        assert exc.extra == "yaml", exc
    else:
        raise AssertionError("a YAML config loaded without PyYAML")
    """
    assert _probe(body, EVERY_EXTRA_LIBRARY) == {"ok": True}


def test_an_unrelated_import_error_is_not_blamed_on_an_extra() -> None:
    """A library the extra's packages need that is broken (here pyzmq, under jupyter_client)
    is a plain ImportError naming it: installing the extra again would not fix it."""
    found = _probe("importlib.import_module('lllm_adapters.jupyter')", ("zmq",))

    assert found.get("import_error") == "ModuleNotFoundError", found
    assert found["name"].partition(".")[0] == "zmq"


def _pyproject(package: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())


def test_the_extras_table_matches_the_adapters_pyproject() -> None:
    from lllm_adapters.extras import EXTRAS

    hook = _pyproject("lllm-adapters")["tool"]["hatch"]["metadata"]["hooks"]
    declared = hook["uv-dynamic-versioning"]["optional-dependencies"]
    assert set(declared) == {*EXTRAS, "all"}
    assert declared["all"] == [f"lllm-adapters[{','.join(EXTRAS)}]"]
    cli = _pyproject("lllm-cli")["tool"]["hatch"]["metadata"]["hooks"]["uv-dynamic-versioning"]
    # Streamlit and Ray (a cluster runtime of its own) stay opt-in extras.
    needed = [extra for extra in EXTRAS if extra not in ("streamlit", "ray")]
    assert f"lllm-adapters[{','.join(needed)}]=={{{{ version }}}}" in cli["dependencies"]


def test_the_four_packages_take_their_version_from_one_file_and_pin_each_other() -> None:
    from importlib.metadata import version

    import lllm_cli
    import lllm_domain

    expected = (ROOT / "VERSION").read_text().strip()
    for package in PACKAGES:
        project = _pyproject(package)
        assert "version" in project["project"]["dynamic"], package
        assert project["tool"]["uv-dynamic-versioning"]["from-file"] == {
            "source": "../../VERSION"
        }, package
        hooks = project["tool"]["hatch"].get("metadata", {}).get("hooks", {})
        for requirement in hooks.get("uv-dynamic-versioning", {}).get("dependencies", []):
            if requirement.startswith("lllm-"):
                assert requirement.endswith("=={{ version }}"), (package, requirement)
        assert version(package) == expected, package
    assert lllm_cli.__version__ == lllm_domain.__version__ == expected
    required = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]
    assert required["required-version"].startswith(">=")
