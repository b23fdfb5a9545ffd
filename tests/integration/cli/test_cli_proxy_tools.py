"""Proxies in `lllm run` and `lllm proxies test`, against a real HTTP API on 127.0.0.1: a
created init_template project whose config activates its sample proxy (pointed at the local
API) gets the endpoints as the agent's tools; `proxies test` reports each endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli_runner import lllm
from tests.support.proxies_server import FakeApi, serve

pytestmark = pytest.mark.slow

OPEN_METEO = "https://api.open-meteo.com/v1"
TOOL = "weather__open_meteo__forecast__daily"

# Replaces the project's scripted model: call the weather tool when it is offered, then answer
# with exactly what the tool returned (so the answer proves the result reached the model).
SCRIPTED = f'''
from lllm_domain import Role
from lllm_domain.testing import call, tool_calls


def scripted_reply(request):
    last = request.messages[-1]
    if last.role is Role.TOOL:
        return f"<answer>{{last.content}}</answer>"
    offered = sorted(f.name for f in request.tools)
    if "{TOOL}" not in offered:
        return f"<answer>no weather tool; offered: {{offered}}</answer>"
    return tool_calls(call("{TOOL}", latitude=52.52, longitude=13.41))
'''

LOCAL_PROXY = '''
from lllm_domain.proxy import Proxy, endpoint


class Local(Proxy):
    """Two endpoints on the test's local API: one answers, one does not exist there."""

    path = "local/api"
    base_url = "{base_url}"

    @endpoint("items", "list", "List items.", params={{"limit": (int, 2)}}, path="items")
    def items(self, params):
        return None

    @endpoint("items", "gone", "An endpoint the server lost.", path="gone")
    def gone(self, params):
        return None
'''


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/forecast"] = {
        "daily": {"time": ["2024-05-01"], "temperature_2m_max": [23.4]},
        "latitude": 52.52,
    }
    fake.routes["/items"] = [{"id": 1}, {"id": 2}]
    with serve(fake) as running:
        yield running


def _project(tmp_path: Path, api: FakeApi, activate: str) -> Path:
    """An init_template project whose sample proxy talks to ``api``, activating ``activate``
    in its config and playing :data:`SCRIPTED` as its scripted model."""
    created = lllm("create", "demo", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    project = tmp_path / "demo"
    sample = project / "proxies" / "sample.py"
    text = sample.read_text("utf-8")
    assert OPEN_METEO in text
    sample.write_text(text.replace(OPEN_METEO, api.base_url), "utf-8")
    (project / "proxies" / "local.py").write_text(
        LOCAL_PROXY.format(base_url=api.base_url), "utf-8"
    )
    config = project / "config" / "demo" / "default.yaml"
    text = config.read_text("utf-8")
    assert "activate_proxies: []" in text  # the default activates nothing: no network
    activated = text.replace("activate_proxies: []", f"activate_proxies: {activate}")
    config.write_text(activated, "utf-8")
    (project / "weather_scripted.py").write_text(SCRIPTED, "utf-8")
    toml = project / "lllm.toml"
    hook = toml.read_text("utf-8").replace('"scripted:', '"weather_scripted:')
    toml.write_text(hook, "utf-8")
    return project


def _env(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / "cache")}  # the proxy cache stays in the test


def test_an_activated_proxy_is_the_agents_tool_in_lllm_run(tmp_path: Path, api: FakeApi) -> None:
    project = _project(tmp_path, api, "[weather/open_meteo, weather/not_declared]")

    run = lllm("run", "Weather in Berlin?", "--model", "scripted", cwd=project, env=_env(tmp_path))

    assert run.returncode == 0, run.stdout + run.stderr
    # The endpoint received the request the model asked for (plus the prep hook's parameters).
    assert api.count("/forecast") == 1
    query = api.requests[0]["query"]
    assert query["latitude"] == "52.52"
    assert query["longitude"] == "13.41"
    assert query["daily"] == "temperature_2m_max"
    # The tool result reached the model: its answer is the API's response.
    result = json.loads(run.stdout.split("result:\n", 1)[1].split("\ncost:", 1)[0])
    assert result["tool_calls"] == [TOOL]
    assert json.loads(result["answer"])["daily"]["temperature_2m_max"] == [23.4]
    # An activated name nobody declared is skipped with the runtime's warning, on stderr.
    assert "proxy.not_registered" in run.stderr
    assert "weather/not_declared" in run.stderr
    assert "proxy.not_registered" not in run.stdout

    session = re.search(r"^session (\S+) ·", run.stdout, re.MULTILINE)
    assert session
    shown = lllm("logs", "show", session.group(1), cwd=project)
    assert f"→ calls {TOOL}(latitude=52.52, longitude=13.41)" in shown.stdout
    assert "23.4" in shown.stdout


def test_without_activated_proxies_the_agent_gets_no_proxy_tools(
    tmp_path: Path, api: FakeApi
) -> None:
    project = _project(tmp_path, api, "[]")

    run = lllm("run", "Weather in Berlin?", "--model", "scripted", cwd=project, env=_env(tmp_path))

    assert run.returncode == 0, run.stdout + run.stderr
    assert "no weather tool; offered: ['add']" in run.stdout
    assert api.requests == []


def test_proxies_test_calls_each_endpoint_and_reports_ok_or_failed(
    tmp_path: Path, api: FakeApi
) -> None:
    project = _project(tmp_path, api, "[weather/open_meteo, local/api]")

    tested = lllm("proxies", "test", cwd=project, env=_env(tmp_path))

    assert tested.returncode == 1, tested.stdout + tested.stderr  # one endpoint fails
    lines = tested.stdout.splitlines()
    assert any(
        line.startswith("ok   weather/open_meteo/forecast/daily  ") and "23.4" in line
        for line in lines
    ), tested.stdout
    assert any(
        line.startswith("ok   local/api/items/list  ") and "'id': 1" in line for line in lines
    ), tested.stdout
    assert any(
        line.startswith("FAIL local/api/items/gone  ") and "HTTP 404" in line for line in lines
    ), tested.stdout
    assert lines[-1] == "2 passed, 1 failed"
    # Each endpoint was called with its declared examples.
    forecast = next(r for r in api.requests if r["path"] == "/forecast")
    assert forecast["query"]["latitude"] == "48.85"
    assert next(r for r in api.requests if r["path"] == "/items")["query"] == {"limit": "2"}
    assert api.count("/gone") == 1  # a 404 is not retried

    one = lllm("proxies", "test", "--proxy", "local/api", cwd=project, env=_env(tmp_path))
    assert one.returncode == 1
    assert "weather/open_meteo" not in one.stdout
    assert one.stdout.splitlines()[-1] == "1 passed, 1 failed"


def test_proxies_test_passes_when_every_endpoint_answers(tmp_path: Path, api: FakeApi) -> None:
    project = _project(tmp_path, api, "[weather/open_meteo]")

    tested = lllm("proxies", "test", cwd=project, env=_env(tmp_path))

    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.splitlines() == [
        tested.stdout.splitlines()[0],
        "1 passed, 0 failed",
    ]
    assert tested.stdout.startswith("ok   weather/open_meteo/forecast/daily  ")


def test_a_mistyped_proxy_is_a_readable_warning_naming_the_closest(
    tmp_path: Path, api: FakeApi
) -> None:
    project = _project(tmp_path, api, "[weather/open_meto]")

    run = lllm("run", "Weather in Berlin?", "--model", "scripted", cwd=project, env=_env(tmp_path))

    assert run.returncode == 0, run.stdout + run.stderr
    (line,) = [ln for ln in run.stderr.splitlines() if "proxy.not_registered" in ln]
    assert not line.lstrip().startswith("{")  # the console renderer, not JSON
    assert "[warning" in line
    assert "proxy=weather/open_meto" in line
    assert "did you mean 'weather/open_meteo'?" in line
