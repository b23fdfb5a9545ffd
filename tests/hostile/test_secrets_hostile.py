"""Secrets must never reach the terminal, the proxy cache or be needed to read a log back.

The keys are fake (``sk-test-...`` and look-alikes); every test asserts they appear in no output,
no file, and that the redacted placeholder shows up where they were.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from lllm_adapters.observability import PLACEHOLDER, RedactingTextStream, Redactor
from lllm_adapters.proxies import HttpProxyRuntime, ProxySettings
from lllm_cli.app import run_cli
from lllm_domain.proxy import ApiKey, Proxy, endpoint
from lllm_domain.registry import ProxyRegistry

from tests.support.openai_server import OpenAIServer, error_reply
from tests.support.proxies_server import FakeApi, InstantClock, serve

OPENAI_KEY = "sk-test-hostile-secrets-0123456789abcdef"
TOOL_TOKEN = "tok-test-hostile-tool-5550123"  # no sk- shape: known only as $DEMO_TOKEN's value
APPID = "appid-test-hostile-987654321"  # $OPENWEATHER_APPID: a name the redactor does not know


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LLLM_CONFIG", "LLLM_DEBUG", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`lllm run` in-process points structlog at this test's captured stderr, which closes with
    the test: put the previous configuration back so later tests do not log into it."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def create(tmp_path: Path, name: str = "sec_demo") -> Path:
    assert run_cli(["create", name, "--dir", str(tmp_path)]) == 0
    return tmp_path / name


def everything_written(root: Path) -> str:
    """The text of every file under ``root`` (binary files decoded loosely)."""
    return "\n".join(
        p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()
    )


# -- 5. CLI error lines ---------------------------------------------------------------------


@pytest.fixture
def echoing_401() -> Iterator[OpenAIServer]:
    """An OpenAI-compatible server whose 401 echoes the Authorization header it received."""

    def answer(request: Any) -> Any:
        echoed = request.headers.get("authorization", "")
        return error_reply(401, f"Incorrect API key provided: {echoed}. You can find your key")

    with OpenAIServer(handler=answer) as server:
        yield server


def test_a_401_that_echoes_the_key_prints_no_key(
    tmp_path: Path,
    echoing_401: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project = create(tmp_path)
    capsys.readouterr()
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", echoing_401.url)

    code = run_cli(["run", "What is 2 + 3?", "--project", str(project)])

    out, err = capsys.readouterr()
    assert code == 2
    assert echoing_401.requests[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "HTTP 401" in err and PLACEHOLDER in err
    assert OPENAI_KEY not in err + out
    assert OPENAI_KEY[-12:] not in err + out


def test_an_error_echoing_a_key_known_only_by_its_variable_is_redacted(
    tmp_path: Path,
    echoing_401: OpenAIServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = "house-test-key-0123456789"  # no sk- shape, no Bearer: only $OPENAI_API_KEY names it
    project = create(tmp_path)
    capsys.readouterr()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("OPENAI_BASE_URL", echoing_401.url)
    echoing_401.handler = lambda request: error_reply(401, f"unknown key {key!r}")

    assert run_cli(["run", "What is 2 + 3?", "--project", str(project)]) == 2

    out, err = capsys.readouterr()
    assert "unknown key" in err and key not in err + out


def test_an_internal_error_line_is_redacted_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Broken:
        """An app whose command fails with an error quoting a credential."""

        def __call__(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError(f"upstream said Authorization: Bearer {OPENAI_KEY}")

    monkeypatch.setattr("lllm_cli.app.build_app", Broken)
    assert run_cli(["anything"]) == 1
    out, err = capsys.readouterr()
    assert "internal error" in err and OPENAI_KEY not in err + out


# -- 7. what a run prints (tool results, streamed text, the result) ------------------------


def project_logging_to(tmp_path: Path, log_type: str) -> Path:
    """An init_template project whose system logs to ``log_type``."""
    project = create(tmp_path)
    config = project / "config" / "sec_demo" / "default.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("log_type: localfile", f"log_type: {log_type}"),
        encoding="utf-8",
    )
    return project


def leaky_tool_project(tmp_path: Path, log_type: str = "localfile") -> Path:
    """An init_template project whose tool result echoes a secret, as a careless API would."""
    project = project_logging_to(tmp_path, log_type)
    main = project / "prompts" / "main.py"
    text = main.read_text(encoding="utf-8")
    text = text.replace(
        "    return a + b\n",
        "    import os\n\n"
        "    token = os.environ['DEMO_TOKEN']\n"
        '    return f"{a + b} (sent Authorization: Bearer {token})"  # type: ignore\n',
    )
    main.write_text(text, encoding="utf-8")
    return project


def test_tool_results_shown_by_the_template_system_are_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = leaky_tool_project(tmp_path)
    capsys.readouterr()
    monkeypatch.setenv("DEMO_TOKEN", TOOL_TOKEN)

    code = run_cli(["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert "tool add(" in out and PLACEHOLDER in out  # the line is shown, the token is not
    assert TOOL_TOKEN not in out + err
    assert TOOL_TOKEN not in everything_written(project / "logs")  # as the logged copy


def test_streamed_text_split_across_deltas_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    project = leaky_tool_project(tmp_path)
    capsys.readouterr()
    monkeypatch.setenv("DEMO_TOKEN", TOOL_TOKEN)
    args = ["run", "What is 2 + 3?", "--model", "scripted", "--stream", "--project", str(project)]
    assert run_cli(args) == 0
    out, err = capsys.readouterr()
    assert TOOL_TOKEN not in out + err


# The terminal stream: a secret split over any number of writes and flushes never gets out whole.

SECRETS = [OPENAI_KEY, TOOL_TOKEN, "Authorization: Bearer abcdefgh12345678"]


@settings(max_examples=150, deadline=None)
@given(
    before=st.text(alphabet="ab c\n:-", max_size=12),
    after=st.text(alphabet="ab c\n:-", max_size=12),
    which=st.sampled_from(SECRETS),
    cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=6),
    flush_each=st.booleans(),
)
def test_a_secret_split_over_writes_never_leaves_the_stream(
    before: str, after: str, which: str, cuts: list[int], flush_each: bool
) -> None:
    text = f"{before} {which} {after}"
    inner = io.StringIO()
    stream = RedactingTextStream(inner, Redactor([TOOL_TOKEN]))
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    for start, end in itertools.pairwise(points):
        stream.write(text[start:end])
        if flush_each:
            stream.flush()
    stream.finish()
    shown = inner.getvalue()
    secret = which.rsplit(" ", 1)[-1]
    assert secret not in shown
    assert PLACEHOLDER in shown


def test_text_without_secrets_passes_through_at_once() -> None:
    inner = io.StringIO()
    stream = RedactingTextStream(inner, Redactor([TOOL_TOKEN]))
    stream.write("The answer is 4")
    stream.flush()
    assert inner.getvalue() == "The answer is 4"  # no lag for ordinary streamed words
    stream.write(", done.\n")
    assert inner.getvalue() == "The answer is 4, done.\n"


def test_a_partial_key_is_held_back_until_it_is_complete() -> None:
    inner = io.StringIO()
    stream = RedactingTextStream(inner, Redactor([TOOL_TOKEN]))
    stream.write("key: sk-test-hos")
    stream.flush()
    assert "sk-" not in inner.getvalue()
    stream.write("tile-0123456789abcdef and more\n")
    assert inner.getvalue() == f"key: {PLACEHOLDER} and more\n"


# -- 6. the proxy disk cache ---------------------------------------------------------------


class EchoProxy(Proxy):
    """An API that echoes the credentials it received (as some debug endpoints do)."""

    base_url = "http://unused.invalid"
    api_key = ApiKey.query("appid", env="OPENWEATHER_APPID")

    @endpoint("debug", "echo", "Echo the request", params={"q": (str, "x")})
    def echo(self, params: dict[str, Any]) -> None:
        return None


class BearerEchoProxy(Proxy):
    """Keyed by an Authorization header, which the API echoes."""

    base_url = "http://unused.invalid"
    api_key = ApiKey.header("Authorization", env="ECHO_SERVICE_KEY", prefix="Bearer ")

    @endpoint("debug", "echo", "Echo the request", params={"q": (str, "x")})
    def echo(self, params: dict[str, Any]) -> None:
        return None


@pytest.fixture
def echo_api() -> Iterator[FakeApi]:
    fake = FakeApi()
    fake.routes["/echo"] = lambda req: {
        "url": req["raw"],
        "authorization": req["headers"].get("Authorization", ""),
        "headers": dict(req["headers"]),
        "note": f"called with {req['headers'].get('Authorization', '')} and {req['raw']}",
    }
    with serve(fake) as running:
        yield running


@pytest.mark.parametrize("path", ["weather/echo/debug/echo", "service/echo/debug/echo"])
def test_the_proxy_cache_never_holds_the_key(echo_api: FakeApi, tmp_path: Path, path: str) -> None:
    registry = ProxyRegistry()
    registry.register("weather/echo", EchoProxy)
    registry.register("service/echo", BearerEchoProxy)
    settings_ = ProxySettings(
        cutoff_date=dt.date(2030, 1, 1),
        cache_dir=str(tmp_path / "cache"),
        base_urls={"weather/echo": echo_api.base_url, "service/echo": echo_api.base_url},
    )
    env = {"OPENWEATHER_APPID": APPID, "ECHO_SERVICE_KEY": APPID}
    with HttpProxyRuntime(settings_, registry=registry, environ=env, clock=InstantClock()) as rt:
        first = rt.call(path, {"q": "paris"})
        again = rt.call(path, {"q": "paris"})
        assert rt.requests_sent == 1
    sent = echo_api.requests[0]
    assert APPID in sent["raw"] + str(sent["headers"])  # the API did get the key
    cached = list((tmp_path / "cache").rglob("*.json"))
    assert cached
    assert APPID not in everything_written(tmp_path / "cache")
    assert APPID not in repr(first) and first == again  # what the model reads is clean too
    assert PLACEHOLDER in repr(first) or "***" in repr(first)


# -- 8. logs show by the unredacted name --------------------------------------------------


@pytest.mark.parametrize("log_type", ["localfile", "sqlite"])
def test_logs_show_accepts_the_real_name_of_a_redacted_session(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_type: str,
) -> None:
    project = leaky_tool_project(tmp_path, log_type)
    monkeypatch.setenv("DEMO_TOKEN", TOOL_TOKEN)
    real = f"run-{TOOL_TOKEN}"
    args = ["run", "What is 2 + 3?", "--model", "scripted", "--project", str(project)]
    assert run_cli([*args, "--session", real]) == 0
    capsys.readouterr()

    assert run_cli(["logs", "list", "--project", str(project)]) == 0
    listed = capsys.readouterr().out
    assert f"run-{PLACEHOLDER}" in listed and TOOL_TOKEN not in listed

    for name in (real, f"run-{PLACEHOLDER}"):
        code = run_cli(["logs", "show", name, "--project", str(project)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert out.startswith("session run-") and "2 + 3" in out
        assert TOOL_TOKEN not in out + err
        assert run_cli(["logs", "cost", name, "--project", str(project)]) == 0
        capsys.readouterr()


@pytest.mark.parametrize("log_type", ["localfile", "sqlite"])
def test_replay_accepts_the_real_name_of_a_redacted_session(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    log_type: str,
) -> None:
    project = project_logging_to(tmp_path, log_type)
    monkeypatch.setenv("DEMO_TOKEN", TOOL_TOKEN)
    real = f"run-{TOOL_TOKEN}"
    args = ["run", "What is 2 + 3?", "--project", str(project)]
    assert run_cli([*args, "--model", "scripted", "--session", real]) == 0
    capsys.readouterr()
    code = run_cli([*args, "--replay", real])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert TOOL_TOKEN not in out + err
