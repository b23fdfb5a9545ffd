"""End to end, as a new user meets LLLM: build the wheels, install `lllm-cli` into a fresh
virtual environment, create a project, run it against an OpenAI-compatible server, read the
transcript and open its HTML export in a headless browser.

Needs `uv` (the test command runs under it) and Debian's `chromium` (`apt-get install -y
chromium`); a missing one fails the test with the command to fix it, it is never skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_runner import clean_env
from tests.support.openai_server import OpenAIServer, RecordedRequest, chat_completion

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PACKAGES = ("lllm_cli", "lllm_domain", "lllm_adapters", "lllm_templates")


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.fail("uv is needed to build and install the wheels: python3 -m pip install uv")
    return found


def _run(
    args: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args,
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The four packages' wheels, freshly built (each from its sdist, as `uv build` does)."""
    dist = tmp_path_factory.mktemp("dist")
    _run([_uv(), "build", "--all-packages", "--out-dir", str(dist)], cwd=ROOT)
    built = sorted(dist.glob("*.whl"))
    assert sorted(w.name.split("-")[0] for w in built) == sorted(PACKAGES)
    return built


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory, wheels: list[Path]) -> Path:
    """A fresh virtual environment with `lllm-cli` installed from freshly built wheels."""
    uv = _uv()
    base = tmp_path_factory.mktemp("install")
    dist = wheels[0].parent
    venv = base / "venv"
    python = getattr(sys, "_base_executable", sys.executable)
    _run([uv, "venv", str(venv), "--python", python], cwd=base)
    # `lllm-cli` from the built wheels (named, so the registry cannot shadow them); its
    # third-party dependencies from the registry.
    _run(
        [
            uv,
            "pip",
            "install",
            "--python",
            str(venv / "bin" / "python"),
            "--find-links",
            str(dist),
            "lllm-cli",
            *map(str, wheels),
        ],
        cwd=base,
    )
    return venv / "bin"


def test_the_openai_extra_alone_installs_few_packages_and_guards_the_others(
    wheels: list[Path], tmp_path: Path
) -> None:
    """`lllm-adapters[openai]` from the wheels: at most 20 distributions, the OpenAI adapter
    imports, and an adapter of another extra says which extra to install."""
    uv = _uv()
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    _run(
        [uv, "venv", str(venv), "--python", getattr(sys, "_base_executable", sys.executable)],
        cwd=tmp_path,
    )
    wheel = {w.name.split("-")[0]: w for w in wheels}
    _run(
        [
            uv,
            "pip",
            "install",
            "--python",
            python,
            f"lllm-adapters[openai] @ {wheel['lllm_adapters'].as_uri()}",
            f"lllm-domain @ {wheel['lllm_domain'].as_uri()}",
        ],
        cwd=tmp_path,
    )
    listed = _run([uv, "pip", "list", "--python", python, "--format", "freeze"], cwd=tmp_path)
    installed = [line.partition("==")[0] for line in listed.stdout.split()]
    assert len(installed) <= 20, installed
    assert "lllm-cli" not in installed
    assert "jupyter-client" not in installed

    probe = (
        "from lllm_adapters import OpenAICaller\n"
        "from lllm_domain.errors import MissingExtraError\n"
        "try:\n"
        "    import lllm_adapters.jupyter\n"
        "except MissingExtraError as exc:\n"
        "    print(exc)\n"
    )
    out = _run([python, "-c", probe], cwd=tmp_path).stdout
    assert 'pip install "lllm-adapters[jupyter]"' in out


def _agent_loop(request: RecordedRequest) -> Mapping[str, Any]:
    """A tool call, then an answer without the required tag, then the corrected answer."""
    messages = request.json["messages"]
    last = messages[-1]
    if last["role"] == "tool":
        return chat_completion("The sum is 5.", usage=(120, 6, 0, 0))
    if last["role"] == "user" and "could not be used" in (last.get("content") or ""):
        return chat_completion("<answer>5</answer>", usage=(150, 5, 0, 0))
    return chat_completion(
        None, tool_calls=[("call_e2e_1", "add", '{"a": 2, "b": 3}')], usage=(100, 12, 0, 0)
    )


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer(handler=_agent_loop) as running:
        yield running


def test_a_new_user_installs_creates_runs_and_reads_the_logs(
    venv_bin: Path, server: OpenAIServer, tmp_path: Path
) -> None:
    lllm = str(venv_bin / "lllm")
    # The installed command comes from the wheels, not from this checkout.
    where = _run(
        [str(venv_bin / "python"), "-c", "import lllm_cli; print(lllm_cli.__file__)"], cwd=tmp_path
    )
    assert str(venv_bin.parent) in where.stdout

    version = (ROOT / "VERSION").read_text().strip()
    assert f"lllm {version}" in _run([lllm, "--version"], cwd=tmp_path).stdout
    created = _run([lllm, "create", "demo"], cwd=tmp_path)
    assert "Created init_template project 'demo'" in created.stdout
    project = tmp_path / "demo"

    # Without a key the run says what to set.
    missing = subprocess.run(
        [lllm, "run", "What is 2 + 3?"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "set OPENAI_API_KEY" in missing.stderr

    env = {"OPENAI_API_KEY": "sk-test-e2e-secret", "OPENAI_BASE_URL": server.url}
    run = _run([lllm, "run", "What is 2 + 3?", "--stream"], cwd=project, env=env)

    out = run.stdout
    assert "scripted model" not in out
    assert "tool add({'a': 2, 'b': 3}) -> 5" in out
    assert '"answer": "5"' in out
    cost = re.search(r"cost: \$(\d+\.\d+) \(3 model replies, 370 input \+ 23 output tokens", out)
    assert cost, out
    assert float(cost.group(1)) > 0  # priced from gpt-4o-mini's model card
    session = re.search(r"^session (\S+) ·", out, re.MULTILINE)
    assert session, out
    name = session.group(1)

    # What the server saw: a tool call round, the malformed answer, the exception handler.
    bodies = [r.json for r in server.requests]
    assert len(bodies) == 3
    assert all(b["stream"] for b in bodies)
    tool_result = bodies[1]["messages"][-1]
    assert (tool_result["role"], tool_result["tool_call_id"]) == ("tool", "call_e2e_1")
    assert tool_result["content"] == "5"  # the add tool's sum (2 + 3), as the model read it
    assert "could not be used" in bodies[2]["messages"][-1]["content"]
    assert "sk-test-e2e-secret" not in json.dumps(bodies)

    shown = _run([lllm, "logs", "show", name], cwd=project).stdout
    assert "→ calls add(a=2, b=3) [call_e2e_1]" in shown
    assert "← result of tool call [call_e2e_1]" in shown
    assert "↻ retry: attempt 1 failed: 'The sum is 5.'" in shown
    assert "<answer>5</answer>" in shown
    logs_dir = project / "logs"
    assert "sk-test-e2e-secret" not in "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in logs_dir.rglob("*") if p.is_file()
    )

    page = tmp_path / "timeline.html"
    _run([lllm, "logs", "export", name, "--html", str(page)], cwd=project)
    html = page.read_text(encoding="utf-8")
    assert "&lt;answer&gt;5&lt;/answer&gt;" in html

    _check_in_browser(page, tmp_path)


def _check_in_browser(page: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is needed to check the HTML export in a browser: "
            "apt-get update && apt-get install -y chromium"
        )
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    shot = Path(os.environ.get("LLLM_E2E_SCREENSHOT", tmp_path / "timeline.png"))
    subprocess.run(
        [str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) > 20_000  # a rendered page, not a blank one
    _check_screenshot_text(shot)

    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    text = re.sub(r"<[^>]+>", " ", dom)
    for expected in (
        "What is 2 + 3?",
        "→ calls add(a=2, b=3) [call_e2e_1]",
        "↻ retry: attempt 1 failed",
        "&lt;answer&gt;5&lt;/answer&gt;",
        "model replies",
    ):
        assert expected in text, expected


def _check_screenshot_text(shot: Path) -> None:
    """Read the screenshot back with OCR: the pixels, not just the DOM, show the transcript."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        pytest.fail(
            "tesseract is needed to read the screenshot's text: "
            "apt-get update && apt-get install -y tesseract-ocr"
        )
    seen = subprocess.run(
        [tesseract, str(shot), "stdout"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    words = " ".join(seen.split())
    # Without the question mark: tesseract reads "3?" as "37" now and then.
    for expected in ("LLLM session", "What is 2 + 3", "calls add", "model replies"):
        assert expected in words, f"{expected!r} not in the screenshot's text: {words[:500]!r}"
